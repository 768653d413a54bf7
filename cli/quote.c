/*
 * quote.c - what a replacement string makes of one input value ({.} {/}
 * {//} {/.}, always a slice of the value) and how a value is quoted for the
 * shell (template.h).
 */
#include <stdbool.h>
#include <string.h>

#include "template.h"

void field_value(enum field_kind kind, const char *s, size_t n, const char **out,
                 size_t *outlen)
{
    switch (kind) {
    case FK_ALL:
    case FK_SEQ:
    case FK_SLOT:
        break;
    case FK_NOEXT: /* parallel: s:\.[^/.]*$:: */
        for (size_t i = n; i-- > 0;) {
            if (s[i] == '/')
                break;
            if (s[i] == '.') {
                n = i;
                break;
            }
        }
        break;
    case FK_BASE: /* everything after the last slash */
        for (size_t i = n; i-- > 0;) {
            if (s[i] == '/') {
                s += i + 1;
                n -= i + 1;
                break;
            }
        }
        break;
    case FK_BASENOEXT:
        field_value(FK_BASE, s, n, &s, &n);
        field_value(FK_NOEXT, s, n, &s, &n);
        break;
    case FK_DIR: { /* POSIX dirname, as parallel's File::Basename */
        size_t end = n;
        while (end > 1 && s[end - 1] == '/')
            end--;
        size_t slash = end;
        while (slash > 0 && s[slash - 1] != '/')
            slash--;
        if (slash == 0) { /* no slash: "." */
            s = ".";
            n = 1;
            break;
        }
        size_t pos = slash - 1; /* index of the slash */
        while (pos > 0 && s[pos - 1] == '/')
            pos--;
        if (pos == 0) {
            s = "/";
            n = 1;
        } else {
            n = pos;
        }
        break;
    }
    }
    *out = s;
    *outlen = n;
}

static bool safe_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.' || c == '/' || c == '+';
}

void shell_quote(struct strbuf *b, const char *s, size_t n)
{
    bool safe = n > 0;
    for (size_t i = 0; i < n && safe; i++)
        safe = safe_char((unsigned char)s[i]);
    if (safe) {
        sb_add(b, s, n);
        return;
    }
    if (n == 0) {
        sb_adds(b, "''");
        return;
    }
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        if (s[i] == '\'') {
            while (j < n && s[j] == '\'')
                j++;
            sb_addc(b, '"');
            sb_add(b, s + i, j - i);
            sb_addc(b, '"');
        } else {
            while (j < n && s[j] != '\'')
                j++;
            sb_addc(b, '\'');
            sb_add(b, s + i, j - i);
            sb_addc(b, '\'');
        }
        i = j;
    }
}
