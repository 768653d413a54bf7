/*
 * template.c - parsing the command template and rendering one job's argv or
 * shell line (see template.h for the rules).
 *
 * Rendering goes through a small "sink" interface so the one walk over the
 * template serves every output form: argv (values verbatim, word breaks end
 * an argument), the shell line (values quoted, breaks become spaces) and the
 * tag text (values verbatim, breaks become spaces).
 */
#include "template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Matches a replacement string at p (which starts with '{' unless repl).
 * Returns its length and fills kind/pos, or 0. */
static size_t match_field(const char *p, const char *repl, enum field_kind *kind,
                          unsigned *pos)
{
    if (repl) {
        size_t rl = strlen(repl);
        if (strncmp(p, repl, rl) == 0) {
            *kind = FK_ALL;
            *pos = 0;
            return rl;
        }
    }
    if (p[0] != '{')
        return 0;
    static const struct { const char *s; enum field_kind k; } plain[] = {
        {"{}", FK_ALL}, {"{.}", FK_NOEXT}, {"{/}", FK_BASE}, {"{//}", FK_DIR},
        {"{/.}", FK_BASENOEXT}, {"{#}", FK_SEQ}, {"{%}", FK_SLOT},
    };
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        if (plain[i].k == FK_ALL && repl)
            continue; /* -I replaces {} */
        size_t l = strlen(plain[i].s);
        if (strncmp(p, plain[i].s, l) == 0) {
            *kind = plain[i].k;
            *pos = 0;
            return l;
        }
    }
    /* {n} {n.} {n/} {n//} {n/.} */
    size_t i = 1;
    unsigned long n = 0;
    while (p[i] >= '0' && p[i] <= '9' && n < 1000000)
        n = n * 10 + (unsigned long)(p[i++] - '0');
    if (i == 1 || n == 0 || n >= 1000000)
        return 0;
    static const struct { const char *s; enum field_kind k; } suffix[] = {
        {"}", FK_ALL}, {".}", FK_NOEXT}, {"/}", FK_BASE}, {"//}", FK_DIR},
        {"/.}", FK_BASENOEXT},
    };
    for (size_t k = 0; k < sizeof suffix / sizeof suffix[0]; k++) {
        size_t l = strlen(suffix[k].s);
        if (strncmp(p + i, suffix[k].s, l) == 0) {
            *kind = suffix[k].k;
            *pos = (unsigned)n;
            return i + l;
        }
    }
    return 0;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n';
}

static void add_seg(struct tword *w, struct seg s)
{
    /* Merge adjacent literals. */
    if (!s.field && w->nsegs && !w->segs[w->nsegs - 1].field &&
        w->segs[w->nsegs - 1].text + w->segs[w->nsegs - 1].len == s.text) {
        w->segs[w->nsegs - 1].len += s.len;
        return;
    }
    w->segs = xrealloc(w->segs, (w->nsegs + 1) * sizeof *w->segs);
    w->segs[w->nsegs++] = s;
}

/* Parses one word [p, end) into segments. */
static void parse_word(struct template *t, struct tword *w, const char *p, const char *end,
                       const char *repl)
{
    while (p < end) {
        enum field_kind kind;
        unsigned pos;
        size_t l = match_field(p, repl, &kind, &pos);
        if (l && p + l <= end) {
            add_seg(w, (struct seg){true, NULL, 0, kind, pos});
            if (pos == 0 && kind != FK_SEQ && kind != FK_SLOT)
                w->multi = true;
            if (kind == FK_SLOT)
                t->uses_slot = true;
            p += l;
        } else {
            add_seg(w, (struct seg){false, p, 1, FK_ALL, 0});
            p++;
        }
    }
}

static bool word_is_literal(const struct tword *w)
{
    return w->nsegs == 1 && !w->segs[0].field;
}

/* Shell keywords and builtins that have no program of their own. */
static bool is_shell_word(const char *s, size_t n)
{
    static const char *const words[] = {
        "!", "{", "}", "case", "do", "done", "elif", "else", "esac", "fi", "for", "if",
        "in", "then", "until", "while", "time", ".", ":", "alias", "bg", "break", "cd",
        "command", "continue", "eval", "exec", "exit", "export", "fc", "fg", "getopts",
        "hash", "jobs", "local", "read", "readonly", "return", "set", "shift", "source",
        "times", "trap", "type", "ulimit", "umask", "unalias", "unset", "wait", NULL,
    };
    for (size_t i = 0; words[i]; i++)
        if (strlen(words[i]) == n && memcmp(words[i], s, n) == 0)
            return true;
    return false;
}

/* Does the parsed line need a shell?  Only literal text counts: values are
 * quoted or passed as argv elements either way. */
static bool needs_shell(const struct template *t)
{
    if (t->nwords == 0)
        return true;
    const struct tword *first = &t->words[0];
    if (!word_is_literal(first))
        return true; /* the program comes from an input: let the shell find it */
    if (memchr(first->segs[0].text, '=', first->segs[0].len))
        return true; /* VAR=value cmd */
    if (is_shell_word(first->segs[0].text, first->segs[0].len))
        return true;
    for (size_t i = 0; i < t->nwords; i++) {
        const struct tword *w = &t->words[i];
        if (memchr(w->sep, '\n', w->seplen))
            return true;
        for (size_t k = 0; k < w->nsegs; k++) {
            const struct seg *s = &w->segs[k];
            if (s->field)
                continue;
            for (size_t c = 0; c < s->len; c++)
                if (strchr("|&;<>()$`\\\"'*?[]#~{}\n\r", s->text[c]))
                    return true;
            if (s->len == 1 && s->text[0] == '!' && w->nsegs == 1)
                return true;
        }
    }
    return false;
}

static bool has_fields(const struct template *t)
{
    for (size_t i = 0; i < t->nwords; i++)
        for (size_t k = 0; k < t->words[i].nsegs; k++)
            if (t->words[i].segs[k].field)
                return true;
    return false;
}

/* Splits text into blank-separated words, keeping each word's trailing
 * blanks (the shell line is rendered with them, byte for byte). */
static void split_words(struct template *t, const char *text, const char *repl)
{
    const char *p = text;
    while (is_blank(*p))
        p++;
    while (*p) {
        const char *start = p;
        while (*p && !is_blank(*p))
            p++;
        t->words = xrealloc(t->words, (t->nwords + 1) * sizeof *t->words);
        struct tword *w = &t->words[t->nwords++];
        memset(w, 0, sizeof *w);
        parse_word(t, w, start, p, repl);
        w->sep = p;
        while (is_blank(*p))
            p++;
        w->seplen = (size_t)(p - w->sep);
    }
}

int template_parse(struct template *t, char **words, size_t nwords, bool quote,
                   bool force_shell, bool xstyle, const char *repl, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->xstyle = xstyle;
    if (nwords == 0) {
        t->raw = true;
        t->shell = true;
        return 0;
    }
    if (quote) {
        /* -q: each word is one argv element, as given. */
        t->quote_lit = true;
        t->words = xcalloc(nwords, sizeof *t->words);
        t->nwords = nwords;
        for (size_t i = 0; i < nwords; i++) {
            parse_word(t, &t->words[i], words[i], words[i] + strlen(words[i]), repl);
            t->words[i].sep = " ";
            t->words[i].seplen = 1;
        }
        if (t->words[0].nsegs == 0 || !word_is_literal(&t->words[0])) {
            snprintf(err, errlen, "with -q the program name must be a plain word");
            template_free(t);
            return -1;
        }
    } else {
        struct strbuf b = {0};
        for (size_t i = 0; i < nwords; i++) {
            if (i)
                sb_addc(&b, ' ');
            sb_adds(&b, words[i]);
        }
        t->line = b.s ? b.s : xstrdup("");
        if (strstr(t->line, "{=")) {
            snprintf(err, errlen, "{= perl expression =} replacement strings are not "
                                  "supported by crew");
            template_free(t);
            return -1;
        }
        split_words(t, t->line, repl);
        if (t->nwords == 0) {
            t->raw = true;
            t->shell = true;
            return 0;
        }
        t->shell = force_shell || needs_shell(t);
    }
    t->append = !has_fields(t);
    return 0;
}

int template_parse_text(struct template *t, const char *text, const char *repl, char *err,
                        size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->line = xstrdup(text);
    /* One word holding everything: blanks are literal text here. */
    t->words = xcalloc(1, sizeof *t->words);
    t->nwords = 1;
    parse_word(t, &t->words[0], t->line, t->line + strlen(t->line), repl);
    t->words[0].sep = "";
    (void)err;
    (void)errlen;
    return 0;
}

void template_free(struct template *t)
{
    for (size_t i = 0; i < t->nwords; i++)
        free(t->words[i].segs);
    free(t->words);
    free(t->line);
    memset(t, 0, sizeof *t);
}

/* ---- rendering ------------------------------------------------------------ */

struct sink {
    void (*lit)(struct sink *, const char *, size_t);
    void (*val)(struct sink *, const char *, size_t);
    void (*brk)(struct sink *);                      /* a break inside a word */
    void (*sep)(struct sink *, const char *, size_t); /* the blanks between words */
    struct strbuf *out;
    /* argv sink */
    struct strvec *argv;
    size_t *offs;
    size_t noffs;
    bool quote_lit;
    bool marked; /* the argument being built has content or a value */
};

static void emit_field(const struct seg *s, const struct jobvals *jv, const char *value,
                       struct sink *k)
{
    char num[32];
    const char *p;
    size_t n;
    if (s->kind == FK_SEQ || s->kind == FK_SLOT) {
        int l = snprintf(num, sizeof num, "%llu",
                         s->kind == FK_SEQ ? (unsigned long long)jv->seq
                                           : (unsigned long long)jv->slot);
        k->val(k, num, (size_t)l);
        return;
    }
    field_value(s->kind, value, strlen(value), &p, &n);
    k->val(k, p, n);
}

static void render_word(const struct template *t, const struct tword *w,
                        const struct jobvals *jv, struct sink *k)
{
    bool x = t->xstyle && w->multi;
    unsigned reps = x ? jv->n : 1;
    for (unsigned r = 0; r < reps; r++) {
        if (r)
            k->brk(k);
        for (size_t i = 0; i < w->nsegs; i++) {
            const struct seg *s = &w->segs[i];
            if (!s->field) {
                k->lit(k, s->text, s->len);
            } else if (s->kind == FK_SEQ || s->kind == FK_SLOT) {
                emit_field(s, jv, NULL, k);
            } else if (s->pos > jv->n) {
                k->lit(k, "", 0); /* no such value: nothing (not a quoted '') */
            } else if (s->pos > 0) {
                emit_field(s, jv, jv->v[s->pos - 1], k);
            } else if (x) {
                emit_field(s, jv, jv->v[r], k);
            } else {
                for (unsigned j = 0; j < jv->n; j++) {
                    if (j)
                        k->brk(k);
                    emit_field(s, jv, jv->v[j], k);
                }
            }
        }
    }
}

static void render(const struct template *t, const struct jobvals *jv, struct sink *k)
{
    if (t->raw) {
        for (unsigned j = 0; j < jv->n; j++) {
            if (j)
                k->sep(k, " ", 1);
            k->lit(k, jv->v[j], strlen(jv->v[j]));
        }
        return;
    }
    const struct tword *prev = NULL;
    for (size_t i = 0; i < t->nwords; i++) {
        const struct tword *w = &t->words[i];
        if (t->xstyle && w->multi && jv->n == 0)
            continue; /* -N 0: a word made of the values vanishes */
        if (prev)
            k->sep(k, prev->sep, prev->seplen);
        render_word(t, w, jv, k);
        prev = w;
    }
    if (t->append) {
        for (unsigned j = 0; j < jv->n; j++) {
            k->sep(k, " ", 1);
            k->val(k, jv->v[j], strlen(jv->v[j]));
        }
    }
}

/* argv sink: arguments separated by NULs in the arena; offsets fixed up at
 * the end because the arena may move while it grows.  A word made only of
 * missing values ({3} with two values) is no argument at all, as in the
 * shell line, where it renders as nothing. */
static void argv_lit(struct sink *k, const char *p, size_t n)
{
    sb_add(k->out, p, n);
    if (n)
        k->marked = true;
}

static void argv_val(struct sink *k, const char *p, size_t n)
{
    sb_add(k->out, p, n);
    k->marked = true; /* an empty value is still an argument: "" */
}

static void argv_brk(struct sink *k)
{
    if (!k->marked)
        return; /* nothing yet: the next word starts where this one would */
    sb_addc(k->out, '\0');
    k->offs = xrealloc(k->offs, (k->noffs + 1) * sizeof *k->offs);
    k->offs[k->noffs++] = k->out->len;
    k->marked = false;
}

static void argv_sep(struct sink *k, const char *p, size_t n)
{
    (void)p;
    (void)n;
    argv_brk(k);
}

void template_argv(const struct template *t, const struct jobvals *jv, struct strbuf *arena,
                   struct strvec *argv)
{
    sb_reset(arena);
    sb_grow(arena, 64);
    argv->n = 0;
    struct sink k = {argv_lit, argv_val, argv_brk, argv_sep, arena, argv, NULL, 1, false, false};
    k.offs = xmalloc(sizeof *k.offs);
    k.offs[0] = 0; /* the first argument starts the arena */
    render(t, jv, &k);
    if (!k.marked)
        k.noffs--; /* the last word was made of missing values only */
    for (size_t i = 0; i < k.noffs; i++)
        sv_push(argv, arena->s + k.offs[i]);
    free(k.offs);
}

static void line_lit(struct sink *k, const char *p, size_t n)
{
    if (k->quote_lit)
        shell_quote(k->out, p, n);
    else
        sb_add(k->out, p, n);
}

static void line_val(struct sink *k, const char *p, size_t n)
{
    shell_quote(k->out, p, n);
}

static void text_add(struct sink *k, const char *p, size_t n)
{
    sb_add(k->out, p, n);
}

static void space_brk(struct sink *k)
{
    sb_addc(k->out, ' ');
}

void template_line(const struct template *t, const struct jobvals *jv, struct strbuf *out)
{
    struct sink k = {line_lit, line_val, space_brk, text_add, out, NULL, NULL, 0,
                     t->quote_lit, false};
    render(t, jv, &k);
}

void template_text(const struct template *t, const struct jobvals *jv, struct strbuf *out)
{
    struct sink k = {text_add, text_add, space_brk, text_add, out, NULL, NULL, 0, false, false};
    render(t, jv, &k);
}
