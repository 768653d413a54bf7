/* scripts.c - the Lua scripts: every step of the protocol that must be
 * atomic in Redis (README.md, "Atomic steps").  Redis runs a script as one
 * command: no other client's command runs in between.  A write that fails
 * (redis.call raises) ends the script there, and Redis does not undo the
 * writes before it; so each script writes what must never be lost first
 * (results, dead letters, retries) and acknowledges last: a failure can
 * leave a result without its ack (the job runs again, the client drops the
 * duplicate), never an ack without its result.
 *
 * Every key a script touches is in the queue's hash slot ({Q}); result
 * streams named inside a message (reclaim) are not declared in KEYS, which
 * Redis Cluster tolerates for keys of the same slot.
 *
 * Lua's unpack() is limited to a few thousand values: callers send at most
 * CREW__SCRIPT_IDS ids per call.
 */
#include "remote_impl.h"

_Static_assert(CREW_EDEADLETTER == -22, "the reclaim script writes CREW_EDEADLETTER as -22");

/* Helpers shared by the scripts that compare stream ids. */
#define LUA_ID_LE                                                                        \
    "local function id_le(a, b)\n"                                                       \
    "  local am, as = string.match(a, '^(%d+)-(%d+)$')\n"                                 \
    "  local bm, bs = string.match(b, '^(%d+)-(%d+)$')\n"                                 \
    "  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)\n"         \
    "  return am < bm or (am == bm and as <= bs)\n"                                       \
    "end\n"                                                                              \
    "local function field(t, name)\n"                                                    \
    "  for j = 1, #t, 2 do if t[j] == name then return t[j + 1] end end\n"               \
    "end\n"

const char *const crew__script_text[CREW__S_COUNT] = {
    /* COMMIT: KEYS jobs, dead, delayed, result streams...
     * ARGV group, ttl_ms, dead_max, one blob per result stream,
     *      nd, { nf, fields... } x nd, nr, { delay_ms, member } x nr, ids to ack... */
    [CREW__S_COMMIT] =
        "local i = 4\n"
        "for k = 4, #KEYS do\n"
        "  redis.call('XADD', KEYS[k], '*', 'r', ARGV[i])\n"
        "  redis.call('PEXPIRE', KEYS[k], ARGV[2])\n"
        "  i = i + 1\n"
        "end\n"
        "local nd = tonumber(ARGV[i]); i = i + 1\n"
        "for d = 1, nd do\n"
        "  local nf = tonumber(ARGV[i])\n"
        "  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, i + 1, i + nf))\n"
        "  i = i + 1 + nf\n"
        "end\n"
        "local nr = tonumber(ARGV[i]); i = i + 1\n"
        "if nr > 0 then\n"
        "  local t = redis.call('TIME')\n"
        "  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
        "  for r = 1, nr do\n"
        "    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[i]), ARGV[i + 1])\n"
        "    i = i + 2\n"
        "  end\n"
        "end\n"
        "if i <= #ARGV then return redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, i)) end\n"
        "return 0\n",

    /* RECLAIM: KEYS jobs, dead.  ARGV group, me, lease_ms, max_deliveries,
     * count, ttl_ms, dead_max, result key prefix.
     * Returns { entries taken over (as XCLAIM), number dead-lettered }. */
    [CREW__S_RECLAIM] =
        LUA_ID_LE
        "local g, me, maxd = ARGV[1], ARGV[2], tonumber(ARGV[4])\n"
        "local p = redis.call('XPENDING', KEYS[1], g, 'IDLE', ARGV[3], '-', '+', ARGV[5])\n"
        "local take, ndead = {}, 0\n"
        "for _, e in ipairs(p) do\n"
        "  local id, owner, n = e[1], e[2], tonumber(e[4])\n"
        "  if n >= maxd then\n"
        "    local r = redis.call('XRANGE', KEYS[1], id, id)\n"
        "    if #r > 0 then\n"
        "      local f = r[1][2]\n"
        "      local why = 'delivered ' .. n .. ' times without finishing (its workers died '\n"
        "                  .. 'or lost the lease)'\n"
        "      local last = field(f, 'e')\n"
        "      if last then why = why .. '; last error: ' .. last end\n"
        "      redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*', 'id', id, 'reason', why,\n"
        "                 'code', 'CREW_EDEADLETTER', 'deliveries', n, 'consumer', owner, unpack(f))\n"
        "      local reply = field(f, 'c')\n"
        "      local client, seq\n"
        "      if reply then client, seq = string.match(reply, '^([%w_%-]+)/(%d+)$') end\n"
        "      if client and #client <= 64 and #seq <= 16 then\n"
        "        local key = ARGV[8] .. client\n"
        "        redis.call('XADD', key, '*', 'r',\n"
        "                   struct.pack('<I8i4I4', tonumber(seq), -22, #why) .. why)\n"
        "        redis.call('PEXPIRE', key, ARGV[6])\n"
        "      end\n"
        "    end\n"
        "    redis.call('XACK', KEYS[1], g, id)\n"
        "    ndead = ndead + 1\n"
        "  else\n"
        "    take[#take + 1] = id\n"
        "  end\n"
        "end\n"
        "local got = {}\n"
        "if #take > 0 then got = redis.call('XCLAIM', KEYS[1], g, me, 0, unpack(take)) end\n"
        "return {got, ndead}\n",

    /* EXTEND: KEYS jobs.  ARGV group, me, ids...  Renews (idle time 0,
     * delivery count unchanged) the ids still in this consumer's pending
     * list; returns how many. */
    [CREW__S_EXTEND] =
        "local mine = {}\n"
        "for i = 3, #ARGV do\n"
        "  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2])\n"
        "  if #p > 0 then mine[#mine + 1] = ARGV[i] end\n"
        "end\n"
        "if #mine == 0 then return 0 end\n"
        "mine[#mine + 1] = 'JUSTID'\n"
        "local c = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, unpack(mine))\n"
        "return #c\n",

    /* CANCEL: KEYS jobs.  ARGV group, id.  1: removed before any worker
     * took it (it was past the group's last-delivered id); 0: too late. */
    [CREW__S_CANCEL] =
        LUA_ID_LE
        "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
        "for _, gr in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do\n"
        "  if field(gr, 'name') == ARGV[1] and id_le(ARGV[2], field(gr, 'last-delivered-id')) then\n"
        "    return 0\n"
        "  end\n"
        "end\n"
        "return redis.call('XDEL', KEYS[1], ARGV[2])\n",

    /* PROMOTE: KEYS jobs, delayed, dead.  ARGV count.  Moves retries whose
     * time has come (Redis's clock) into the stream; returns { moved, ms
     * until the next one or -1 }. */
    [CREW__S_PROMOTE] =
        "local t = redis.call('TIME')\n"
        "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
        "local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, ARGV[1])\n"
        "for _, m in ipairs(due) do\n"
        "  local ok, a = pcall(cmsgpack.unpack, m)\n"
        "  if ok and type(a) == 'table' and #a >= 3 and #a % 2 == 1 then\n"
        "    redis.call('XADD', KEYS[1], '*', unpack(a, 2))\n"
        "  else\n"
        "    redis.call('XADD', KEYS[3], '*', 'reason', 'malformed entry in the retry set',\n"
        "               'code', 'CREW_EPROTO', 'member', m)\n"
        "  end\n"
        "  redis.call('ZREM', KEYS[2], m)\n"
        "end\n"
        "local nxt = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')\n"
        "if #nxt == 0 then return {#due, -1} end\n"
        "local wait = tonumber(nxt[2]) - now\n"
        "if wait < 0 then wait = 0 end\n"
        "return {#due, wait}\n",

    /* KEEP: KEYS jobs, keeper.  ARGV me, turn_ms, dead_idle_ms.  At most one
     * worker per turn: trims the stream below the oldest job any group still
     * needs (pending, or not yet delivered), removes consumers idle for
     * dead_idle_ms with nothing pending.  Returns { trimmed, removed } or
     * { -1, 0 } when it was not this worker's turn. */
    [CREW__S_KEEP] =
        LUA_ID_LE
        "if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {-1, 0} end\n"
        "if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0} end\n"
        "local lim, removed = nil, 0\n"
        "for _, gr in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do\n"
        "  local g = field(gr, 'name')\n"
        "  local need = field(gr, 'last-delivered-id')\n"
        "  local ps = redis.call('XPENDING', KEYS[1], g)\n"
        "  if tonumber(ps[1]) > 0 and id_le(ps[2], need) then need = ps[2] end\n"
        "  if not lim or id_le(need, lim) then lim = need end\n"
        "  for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], g)) do\n"
        "    local name = field(c, 'name')\n"
        "    if tonumber(field(c, 'pending')) == 0 and tonumber(field(c, 'idle')) > tonumber(ARGV[3])\n"
        "       and name ~= ARGV[1] then\n"
        "      redis.call('XGROUP', 'DELCONSUMER', KEYS[1], g, name)\n"
        "      removed = removed + 1\n"
        "    end\n"
        "  end\n"
        "end\n"
        "local trimmed = 0\n"
        "if lim and lim ~= '0-0' then trimmed = redis.call('XTRIM', KEYS[1], 'MINID', '~', lim) end\n"
        "return {trimmed, removed}\n",

    /* GIVEBACK: KEYS jobs.  ARGV group, me, ids...  Jobs this worker took
     * but never started: made idle for ever (taken over by the next
     * reclaim) with their delivery count as it was before this delivery.
     * Returns how many. */
    [CREW__S_GIVEBACK] =
        "local n = 0\n"
        "for i = 3, #ARGV do\n"
        "  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2])\n"
        "  if #p > 0 then\n"
        "    local count = tonumber(p[1][4]) - 1\n"
        "    if count < 0 then count = 0 end\n"
        "    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'IDLE', '1000000000000',\n"
        "               'RETRYCOUNT', count, 'JUSTID')\n"
        "    n = n + 1\n"
        "  end\n"
        "end\n"
        "return n\n",
};
