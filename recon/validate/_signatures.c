/*
 * recon.validate._signatures: the signature of each resource's JSON text, in one pass.
 *
 * Two resources with the same signature get the same findings from `recon validate`, so
 * validate checks one representative per signature and gives its findings to the others.
 * A signature keeps everything a finding can depend on and drops what it cannot:
 *
 *   - every key, spelled as in the text, in document order (duplicates kept);
 *   - each value's JSON type: S (a string), E (""), t / f / n, U (an integer of at most 18
 *     digits), I (a negative one), R (a plain decimal); other numbers as their text;
 *   - the text of strings at the checked paths: canonical values, the URNs in schemas, and
 *     dateTimes unless they are certainly valid (D);
 *   - arrays as their distinct element signatures in first-seen order, each with its count
 *     (counted exactly at paths whose primaries are counted, capped at 2 elsewhere); at
 *     paths whose elements are checked one by one, the array's whole text.
 *
 * Anything unusual (a key with an escape or a non-ASCII byte, a number or escape out of the
 * plain forms, deep nesting, many distinct elements, text that is not one JSON object) makes
 * the signature the whole text: that resource is checked on its own, exactly as before.
 * Paths match keys case-insensitively (ASCII), as validate reads names spelled in another case.
 *
 * signatures(data, offsets, validity, offset, length, large, spec)
 *   data, offsets, validity: the buffers of an Arrow string (large=0) or large_string array
 *   spec: [(path, mode)], path = lower-cased keys joined by '\x1f', mode: 1 verbatim strings,
 *         2 dateTime strings, 3 counted arrays, 4 verbatim arrays
 *   returns (codes, signatures, firsts): codes = int32 bytes, one signature number per row;
 *   signatures[k] = bytes; firsts[k] = the first row with signature k
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define MODE_VERBATIM 1
#define MODE_DATETIME 2
#define MODE_COUNTED 3
#define MODE_RAW_ARRAY 4
#define MAX_DEPTH 48
#define MAX_DISTINCT 64
#define MAX_PATH 4096

typedef struct {
    char *buf;
    size_t len, cap;
    int failed; /* out of memory */
} Buf;

static int buf_reserve(Buf *b, size_t extra) {
    if (b->len + extra <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra) cap *= 2;
    char *p = realloc(b->buf, cap);
    if (!p) {
        b->failed = 1;
        return 0;
    }
    b->buf = p;
    b->cap = cap;
    return 1;
}

static inline void buf_put(Buf *b, const char *s, size_t n) {
    if (!buf_reserve(b, n)) return;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
}

/* buf_put for text inside [s, end): short texts (most keys) are copied as 16 bytes at once */
static inline void buf_put_within(Buf *b, const char *s, size_t n, const unsigned char *end) {
#ifdef __SSE2__
    if (n <= 16 && (const unsigned char *)s + 16 <= end) {
        if (!buf_reserve(b, 16)) return;
        _mm_storeu_si128((__m128i *)(b->buf + b->len), _mm_loadu_si128((const __m128i *)s));
        b->len += n;
        return;
    }
#else
    (void)end;
#endif
    buf_put(b, s, n);
}

static inline void buf_ch(Buf *b, char c) {
    if (!buf_reserve(b, 1)) return;
    b->buf[b->len++] = c;
}

/* The checked paths as a trie of lower-cased names: a key leads to a child or out of every path. */
#define MAX_NODES 1024
typedef struct {
    const char *name; /* lower-cased, not terminated */
    size_t len;
    int mode;        /* of the path ending here, 0 when none */
    int first_child; /* -1 when none */
    int next_sibling;
    uint64_t child_marks; /* bit name_mark(child): a quick "no such child" */
} Node;

typedef struct {
    Node nodes[MAX_NODES];
    int count;
} Trie;

static inline unsigned char lower_ascii(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

/* One of 64 bits for a name, from its length and its first and last bytes (case-insensitively). */
static inline uint64_t name_mark(const unsigned char *name, size_t len) {
    unsigned h = (unsigned)len * 31u;
    if (len) h += lower_ascii(name[0]) * 7u + lower_ascii(name[len - 1]);
    return 1ULL << (h & 63);
}

/* The child of `parent` named `key` (ASCII case-insensitively), or -1. */
static int trie_child(const Trie *t, int parent, const unsigned char *key, size_t len) {
    if (parent < 0) return -1;
    if (!(t->nodes[parent].child_marks & name_mark(key, len))) return -1;
    for (int c = t->nodes[parent].first_child; c >= 0; c = t->nodes[c].next_sibling) {
        const Node *n = &t->nodes[c];
        if (n->len != len || (unsigned char)n->name[0] != lower_ascii(key[0]))
            continue;
        size_t i = 0;
        for (; i < len; i++) {
            unsigned char k = key[i];
            if (lower_ascii(k) != (unsigned char)n->name[i]) break;
        }
        if (i == len) return c;
    }
    return -1;
}

/* Adds a path (names joined by '\x1f'); 0 when the trie is full. */
static int trie_add(Trie *t, const char *path, size_t len, int mode) {
    int at = 0;
    size_t start = 0;
    while (start <= len) {
        size_t stop = start;
        while (stop < len && path[stop] != '\x1f') stop++;
        int child = -1;
        for (int c = t->nodes[at].first_child; c >= 0; c = t->nodes[c].next_sibling)
            if (t->nodes[c].len == stop - start && memcmp(t->nodes[c].name, path + start, stop - start) == 0) {
                child = c;
                break;
            }
        if (child < 0) {
            if (t->count == MAX_NODES) return 0;
            child = t->count++;
            t->nodes[child] = (Node){path + start, stop - start, 0, -1, t->nodes[at].first_child, 0};
            t->nodes[at].first_child = child;
            t->nodes[at].child_marks |= name_mark((const unsigned char *)path + start, stop - start);
        }
        at = child;
        start = stop + 1;
    }
    if (mode > t->nodes[at].mode) t->nodes[at].mode = mode;
    return 1;
}

typedef struct {
    const unsigned char *p, *end;
    int opaque; /* the text is the signature */
    Buf *out;
    Buf *scratch; /* for values only checked, never kept (reused from row to row) */
    const Trie *trie;
} Walk;

static unsigned char space_byte[256]; /* JSON whitespace */

static inline void skip_ws(Walk *w) {
    while (w->p < w->end && space_byte[*w->p]) w->p++;
}

/* bytes of a string's content that need no look: not '"', '\\', a control byte or non-ASCII */
static unsigned char plain_byte[256];

static void init_byte_classes(void) {
    for (int c = 0; c < 256; c++) {
        plain_byte[c] = c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
        space_byte[c] = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    }
}

#if defined(__GNUC__) || defined(__clang__)
static inline int first_set_byte(uint64_t mask) { return __builtin_ctzll(mask) >> 3; }
#else
static inline int first_set_byte(uint64_t mask) {
    int n = 0;
    while (!(mask & 0x80)) {
        mask >>= 8;
        n++;
    }
    return n;
}
#endif

static inline int is_hex(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Scan a string token at w->p (at its opening quote); sets *escaped, *ascii. 0 when malformed. */
static inline int scan_string(Walk *w, const unsigned char **start, size_t *len, int *escaped, int *ascii) {
    const unsigned char *s = w->p;
    const unsigned char *q = s + 1;
    *escaped = 0;
    *ascii = 1;
    for (;;) {
#ifdef __SSE2__
        /* sixteen bytes at a time while none is '"', '\\', a control byte or non-ASCII */
        while (w->end - q >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)q);
            __m128i special = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                _mm_cmplt_epi8(v, _mm_set1_epi8(0x20))); /* signed: also every byte >= 0x80 */
            int mask = _mm_movemask_epi8(special);
            if (mask) {
                q += __builtin_ctz((unsigned)mask);
                goto found;
            }
            q += 16;
        }
#endif
        /* eight bytes at a time while none is '"', '\\', a control byte or non-ASCII */
        while (w->end - q >= 8) {
            uint64_t v;
            memcpy(&v, q, 8);
            const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
            uint64_t quote = v ^ (ones * '"'), slash = v ^ (ones * '\\');
            uint64_t special = ((quote - ones) & ~quote) | ((slash - ones) & ~slash) | (v - ones * 0x20) | v;
            special &= highs;
            if (special) { /* the lowest flagged byte is exact (a borrow only flags bytes above it) */
                q += first_set_byte(special);
                goto found;
            }
            q += 8;
        }
        while (q < w->end && plain_byte[*q]) q++;
        if (q >= w->end) return 0;
    found:;
        unsigned char c = *q;
        if (c == '"') {
            *start = s;
            *len = (size_t)(q + 1 - s);
            w->p = q + 1;
            return 1;
        }
        if (c < 0x20) return 0;
        if (c >= 0x80) *ascii = 0;
        if (c == '\\') {
            *escaped = 1;
            if (q + 1 >= w->end) return 0;
            unsigned char e = q[1];
            if (e == 'u') {
                if (q + 5 >= w->end || !is_hex(q[2]) || !is_hex(q[3]) || !is_hex(q[4]) || !is_hex(q[5])) return 0;
                /* surrogates: left to the exact path */
                if ((q[2] == 'd' || q[2] == 'D') && strchr("89abcdefABCDEF", q[3]) != NULL) w->opaque = 1;
                q += 6;
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || e == 0) return 0;
            q += 2;
            continue;
        }
        q++;
    }
}

static inline int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int days_in_month(int year, int month) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0)) return 29;
    return days[month - 1];
}

/* A string token that is certainly an xsd:dateTime as validate checks it (a narrower form). */
static int certainly_datetime(const unsigned char *s, size_t n) {
    /* "YYYY-MM-DDTHH:MM:SS" then optional .digits, optional Z or +HH:MM */
    if (n < 21 || s[0] != '"' || s[n - 1] != '"') return 0;
    const unsigned char *p = s + 1, *e = s + n - 1;
    if (e - p < 19) return 0;
    for (int i = 0; i < 19; i++) {
        static const char shape[] = "dddd-dd-ddTdd:dd:dd";
        if (shape[i] == 'd' ? !is_digit(p[i]) : p[i] != (unsigned char)shape[i]) return 0;
    }
    int year = (p[0] - '0') * 1000 + (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
    int month = (p[5] - '0') * 10 + (p[6] - '0');
    int day = (p[8] - '0') * 10 + (p[9] - '0');
    int hour = (p[11] - '0') * 10 + (p[12] - '0');
    int minute = (p[14] - '0') * 10 + (p[15] - '0');
    int second = (p[17] - '0') * 10 + (p[18] - '0');
    if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return 0;
    if (day > 28 && (year < 1900 || year > 2199 || day > days_in_month(year, month))) return 0;
    p += 19;
    if (p < e && *p == '.') {
        p++;
        if (p >= e || !is_digit(*p)) return 0;
        while (p < e && is_digit(*p)) p++;
    }
    if (p == e) return 1;
    if (*p == 'Z') return p + 1 == e;
    if ((*p == '+' || *p == '-') && e - p == 6 && is_digit(p[1]) && is_digit(p[2]) && p[3] == ':' && is_digit(p[4]) &&
        is_digit(p[5])) {
        int oh = (p[1] - '0') * 10 + (p[2] - '0');
        int om = (p[4] - '0') * 10 + (p[5] - '0');
        return (oh <= 13 && om <= 59) || (oh == 14 && om == 0);
    }
    return 0;
}

static void walk_value(Walk *w, int depth, int node);

static void put_number(Walk *w) {
    const unsigned char *s = w->p, *q = s;
    int negative = 0, fraction = 0, exponent = 0;
    if (q < w->end && *q == '-') {
        negative = 1;
        q++;
    }
    const unsigned char *digits = q;
    if (q >= w->end || !is_digit(*q)) {
        w->opaque = 1;
        return;
    }
    if (*q == '0') {
        q++;
    } else {
        while (q < w->end && is_digit(*q)) q++;
    }
    size_t int_digits = (size_t)(q - digits);
    if (q < w->end && *q == '.') {
        fraction = 1;
        q++;
        if (q >= w->end || !is_digit(*q)) {
            w->opaque = 1;
            return;
        }
        while (q < w->end && is_digit(*q)) q++;
    }
    if (q < w->end && (*q == 'e' || *q == 'E')) {
        exponent = 1;
        q++;
        if (q < w->end && (*q == '+' || *q == '-')) q++;
        if (q >= w->end || !is_digit(*q)) {
            w->opaque = 1;
            return;
        }
        while (q < w->end && is_digit(*q)) q++;
    }
    w->p = q;
    size_t n = (size_t)(q - s);
    if (!fraction && !exponent && int_digits <= 18 && !(negative && *digits == '0')) {
        buf_ch(w->out, negative ? 'I' : 'U');
    } else if ((fraction || exponent) && n <= 16) {
        buf_ch(w->out, 'R');
    } else {
        buf_ch(w->out, 'N');
        buf_put(w->out, (const char *)s, n);
        buf_ch(w->out, ';');
    }
}

/* The string at w->p: E when "", its text where `mode` keeps it, D for a dateTime certainly valid, else S. */
static inline void put_string(Walk *w, int mode) {
    const unsigned char *s;
    size_t n;
    int escaped, ascii;
    if (!scan_string(w, &s, &n, &escaped, &ascii)) {
        w->opaque = 1;
        return;
    }
    if (mode == MODE_VERBATIM) {
        buf_put(w->out, (const char *)s, n);
    } else if (n == 2) {
        buf_ch(w->out, 'E');
    } else if (mode == MODE_DATETIME && !(!escaped && certainly_datetime(s, n))) {
        buf_put(w->out, (const char *)s, n);
    } else {
        buf_ch(w->out, mode == MODE_DATETIME ? 'D' : 'S');
    }
}

/* Steps over the opening bracket at w->p; 1 when the container is empty (and stepped over whole). */
static int open_container(Walk *w, char open, char close) {
    w->p++;
    buf_ch(w->out, open);
    skip_ws(w);
    if (w->p < w->end && *w->p == (unsigned char)close) {
        w->p++;
        buf_ch(w->out, close);
        return 1;
    }
    return 0;
}

static void walk_object(Walk *w, int depth, int node) {
    if (open_container(w, '{', '}')) return;
    for (;;) {
        if (w->p < w->end && *w->p != '"') skip_ws(w);
        if (w->p >= w->end || *w->p != '"') {
            w->opaque = 1;
            return;
        }
        const unsigned char *key;
        size_t key_len;
        int escaped, ascii;
        if (!scan_string(w, &key, &key_len, &escaped, &ascii) || escaped || !ascii) {
            w->opaque = 1;
            return;
        }
        buf_put_within(w->out, (const char *)key, key_len, w->end);
        buf_ch(w->out, ':');
        int child = trie_child(w->trie, node, key + 1, key_len - 2);
        if (w->p < w->end && *w->p == ':') { /* compact text: no whitespace to skip */
            w->p++;
        } else {
            skip_ws(w);
            if (w->p >= w->end || *w->p != ':') {
                w->opaque = 1;
                return;
            }
            w->p++;
        }
        skip_ws(w);
        if (child < 0 && w->p < w->end && *w->p == '"') { /* the common case: a string no check reads */
            put_string(w, 0);
            if (w->opaque) return;
        } else {
            walk_value(w, depth + 1, child);
            if (w->opaque) return;
        }
        if (w->p < w->end && *w->p == ',') {
            w->p++;
            buf_ch(w->out, ',');
            continue;
        }
        skip_ws(w);
        if (w->p < w->end && *w->p == ',') {
            w->p++;
            buf_ch(w->out, ',');
            continue;
        }
        if (w->p < w->end && *w->p == '}') {
            w->p++;
            buf_ch(w->out, '}');
            return;
        }
        w->opaque = 1;
        return;
    }
}

static void skip_value_text(Walk *w, int depth);

static void walk_array(Walk *w, int depth, int node, int mode) {
    size_t spans[MAX_DISTINCT][2];
    long counts[MAX_DISTINCT];
    int distinct = 0;
    if (open_container(w, '[', ']')) return;
    for (;;) {
        if (w->p < w->end && space_byte[*w->p]) skip_ws(w);
        size_t at = w->out->len;
        walk_value(w, depth + 1, node);
        if (w->opaque || w->out->failed) return;
        size_t n = w->out->len - at;
        int seen = -1;
        for (int k = 0; k < distinct; k++) {
            if (spans[k][1] == n && memcmp(w->out->buf + spans[k][0], w->out->buf + at, n) == 0) {
                seen = k;
                break;
            }
        }
        if (seen >= 0) {
            counts[seen]++;
            w->out->len = at;
        } else {
            if (distinct == MAX_DISTINCT) {
                w->opaque = 1;
                return;
            }
            spans[distinct][0] = at;
            spans[distinct][1] = n;
            counts[distinct] = 1;
            distinct++;
        }
        if (w->p < w->end && *w->p == ',') {
            w->p++;
            continue;
        }
        skip_ws(w);
        if (w->p < w->end && *w->p == ',') {
            w->p++;
            continue;
        }
        if (w->p < w->end && *w->p == ']') {
            w->p++;
            break;
        }
        w->opaque = 1;
        return;
    }
    char number[24];
    buf_ch(w->out, '|');
    for (int k = 0; k < distinct; k++) {
        long c = mode == MODE_COUNTED ? counts[k] : (counts[k] > 1 ? 2 : 1);
        int at = (int)sizeof number;
        number[--at] = ',';
        do {
            number[--at] = (char)('0' + c % 10);
            c /= 10;
        } while (c > 0);
        buf_put(w->out, number + at, sizeof number - (size_t)at);
    }
    buf_ch(w->out, ']');
}

/* true, false or null at w->p: its one-letter tag; 0 when the text is something else */
static inline int put_literal(Walk *w, const char *text, char tag) {
    size_t n = strlen(text);
    if ((size_t)(w->end - w->p) < n || memcmp(w->p, text, n) != 0) return 0;
    w->p += n;
    buf_ch(w->out, tag);
    return 1;
}

static void walk_value(Walk *w, int depth, int node) {
    if (depth > MAX_DEPTH || w->p >= w->end) {
        w->opaque = 1;
        return;
    }
    int mode = node >= 0 ? w->trie->nodes[node].mode : 0;
    if (mode == MODE_RAW_ARRAY) { /* whatever the value, its text is what the element checks read */
        const unsigned char *start = w->p;
        skip_value_text(w, depth);
        if (w->opaque) return;
        buf_ch(w->out, 'A');
        buf_put(w->out, (const char *)start, (size_t)(w->p - start));
        return;
    }
    unsigned char c = *w->p;
    switch (c) {
        case '{':
            walk_object(w, depth, node);
            return;
        case '[':
            walk_array(w, depth, node, mode);
            return;
        case '"':
            put_string(w, mode);
            return;
        case 't':
            if (put_literal(w, "true", 't')) return;
            break;
        case 'f':
            if (put_literal(w, "false", 'f')) return;
            break;
        case 'n':
            if (put_literal(w, "null", 'n')) return;
            break;
        default:
            if (c == '-' || is_digit(c)) {
                put_number(w);
                return;
            }
    }
    w->opaque = 1;
}

/* Skip one value, checking only that it is well formed (for arrays kept as text). */
static void skip_value_text(Walk *w, int depth) {
    Buf *out = w->out;
    w->out = w->scratch;
    w->scratch->len = 0;
    walk_value(w, depth, -1); /* no path is special inside */
    w->out = out;
    if (w->scratch->failed) out->failed = 1;
}

/* ---- interning: signature bytes -> number, per call ---- */

typedef struct {
    uint64_t hash;
    size_t offset, len; /* in the arena */
    int32_t number;
} Slot;

typedef struct {
    Slot *slots;
    size_t cap, used;
    Buf arena;
    size_t *offsets; /* per number: offset, len in arena */
    size_t *lens;
    int64_t *firsts;
    size_t numbers_cap;
} Intern;

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, s + i, 8);
        h ^= v;
        h *= 1099511628211ULL;
        h ^= h >> 29;
    }
    for (; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 32;
    return h;
}

static int intern_grow(Intern *t) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    Slot *slots = calloc(cap, sizeof(Slot));
    if (!slots) return 0;
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i].number == 0) continue;
        size_t j = t->slots[i].hash & (cap - 1);
        while (slots[j].number != 0) j = (j + 1) & (cap - 1);
        slots[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 1;
}

/* number + 1 is stored in slots (0 = empty); returns the number or -1 on memory failure */
static int32_t intern(Intern *t, const char *s, size_t n, int64_t row) {
    if ((t->used + 1) * 2 > t->cap && !intern_grow(t)) return -1;
    uint64_t h = hash_bytes(s, n);
    size_t j = h & (t->cap - 1);
    while (t->slots[j].number != 0) {
        Slot *slot = &t->slots[j];
        if (slot->hash == h && slot->len == n && memcmp(t->arena.buf + slot->offset, s, n) == 0)
            return slot->number - 1;
        j = (j + 1) & (t->cap - 1);
    }
    if (t->used == t->numbers_cap) {
        size_t cap = t->numbers_cap ? t->numbers_cap * 2 : 64;
        size_t *o = realloc(t->offsets, cap * sizeof(size_t));
        if (!o) return -1;
        t->offsets = o;
        size_t *l = realloc(t->lens, cap * sizeof(size_t));
        if (!l) return -1;
        t->lens = l;
        int64_t *f = realloc(t->firsts, cap * sizeof(int64_t));
        if (!f) return -1;
        t->firsts = f;
        t->numbers_cap = cap;
    }
    size_t offset = t->arena.len;
    buf_put(&t->arena, s, n);
    if (t->arena.failed) return -1;
    int32_t number = (int32_t)t->used;
    t->slots[j].hash = h;
    t->slots[j].offset = offset;
    t->slots[j].len = n;
    t->slots[j].number = number + 1;
    t->offsets[number] = offset;
    t->lens[number] = n;
    t->firsts[number] = row;
    t->used++;
    return number;
}

static void intern_free(Intern *t) {
    free(t->slots);
    free(t->arena.buf);
    free(t->offsets);
    free(t->lens);
    free(t->firsts);
}

typedef struct {
    const char *path; /* borrowed from spec_list while the GIL is held */
    Py_ssize_t len;
    int mode;
} SpecItem;

static PyObject *signatures(PyObject *self, PyObject *args) {
    Py_buffer data, offsets, validity;
    Py_ssize_t offset, length;
    int large;
    PyObject *spec_list;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*y*y*nnpO", &data, &offsets, &validity, &offset, &length, &large, &spec_list))
        return NULL;
    PyObject *result = NULL;
    Trie *trie = NULL;
    SpecItem *spec = NULL;
    char *names = NULL;
    int32_t *codes = NULL;
    Intern table = {0};
    Buf out = {0}, scratch = {0};
    size_t width = large ? 8 : 4;
    if (offset < 0 || length < 0 || (size_t)offsets.len < (size_t)(offset + length + 1) * width ||
        (validity.len > 0 && (size_t)validity.len * 8 < (size_t)(offset + length))) {
        PyErr_SetString(PyExc_ValueError, "signatures: the buffers do not hold the rows asked for");
        goto done;
    }
    if (!PyList_Check(spec_list)) {
        PyErr_SetString(PyExc_TypeError, "signatures: spec must be a list of (bytes, int)");
        goto done;
    }
    Py_ssize_t nspec = PyList_GET_SIZE(spec_list);
    trie = calloc(1, sizeof(Trie));
    codes = malloc((size_t)(length ? length : 1) * sizeof(int32_t));
    if (!trie || !codes) {
        PyErr_NoMemory();
        goto done;
    }
    trie->count = 1;
    trie->nodes[0] = (Node){"", 0, 0, -1, -1, 0};
    /* the names are copied: the walk runs without the GIL, when spec_list could change */
    spec = calloc((size_t)(nspec ? nspec : 1), sizeof(SpecItem));
    if (!spec) {
        PyErr_NoMemory();
        goto done;
    }
    size_t names_len = 0;
    for (Py_ssize_t i = 0; i < nspec; i++) {
        if (!PyArg_ParseTuple(PyList_GET_ITEM(spec_list, i), "y#i", &spec[i].path, &spec[i].len, &spec[i].mode))
            goto done;
        names_len += (size_t)spec[i].len;
    }
    names = malloc(names_len ? names_len : 1);
    if (!names) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0, at = 0; i < nspec; at += spec[i].len, i++) {
        memcpy(names + at, spec[i].path, (size_t)spec[i].len);
        if (!trie_add(trie, names + at, (size_t)spec[i].len, spec[i].mode)) {
            PyErr_SetString(PyExc_ValueError, "signatures: too many checked paths");
            goto done;
        }
    }
    int failed = 0;
    int32_t recent[2] = {-1, -1};
    Py_BEGIN_ALLOW_THREADS;
    const unsigned char *bytes = data.buf;
    const unsigned char *valid = validity.len > 0 ? validity.buf : NULL;
    for (Py_ssize_t row = 0; row < length && !failed; row++) {
        Py_ssize_t i = offset + row;
        int64_t start, stop;
        if (large) {
            start = ((const int64_t *)offsets.buf)[i];
            stop = ((const int64_t *)offsets.buf)[i + 1];
        } else {
            start = ((const int32_t *)offsets.buf)[i];
            stop = ((const int32_t *)offsets.buf)[i + 1];
        }
        out.len = 0;
        if (valid && !(valid[i >> 3] & (1 << (i & 7)))) {
            buf_put(&out, "\0null", 5);
        } else if (start < 0 || stop < start || stop > (int64_t)data.len) {
            failed = 2;
            break;
        } else {
            Walk w = {0};
            w.p = bytes + start;
            w.end = bytes + stop;
            w.out = &out;
            w.trie = trie;
            w.scratch = &scratch;
            skip_ws(&w);
            if (w.p < w.end && *w.p == '{')
                walk_value(&w, 0, 0); /* the root */
            else
                w.opaque = 1;
            skip_ws(&w);
            if (w.p != w.end) w.opaque = 1;
            if (w.opaque && !out.failed) {
                out.len = 0;
                buf_ch(&out, '!');
                buf_put(&out, (const char *)(bytes + start), (size_t)(stop - start));
            }
        }
        if (out.failed) {
            failed = 1;
            break;
        }
        /* most rows repeat one of the last signatures: a compare is cheaper than a hash */
        int32_t number = -1;
        for (int r = 0; r < 2 && number < 0; r++) {
            int32_t k = recent[r];
            if (k >= 0 && table.lens[k] == out.len && memcmp(table.arena.buf + table.offsets[k], out.buf, out.len) == 0)
                number = k;
        }
        if (number < 0) {
            number = intern(&table, out.buf, out.len, row);
            recent[1] = recent[0];
            recent[0] = number;
        } else if (number != recent[0]) {
            recent[1] = recent[0];
            recent[0] = number;
        }
        if (number < 0) {
            failed = 1;
            break;
        }
        codes[row] = number;
    }
    Py_END_ALLOW_THREADS;
    if (failed == 2) {
        PyErr_SetString(PyExc_ValueError, "signatures: an offset lies outside the data buffer");
        goto done;
    }
    if (failed) {
        PyErr_NoMemory();
        goto done;
    }
    PyObject *code_bytes = PyBytes_FromStringAndSize((const char *)codes, length * (Py_ssize_t)sizeof(int32_t));
    PyObject *sigs = PyList_New((Py_ssize_t)table.used);
    PyObject *firsts = PyList_New((Py_ssize_t)table.used);
    if (!code_bytes || !sigs || !firsts) {
        Py_XDECREF(code_bytes);
        Py_XDECREF(sigs);
        Py_XDECREF(firsts);
        goto done;
    }
    for (size_t k = 0; k < table.used; k++) {
        PyObject *sig = PyBytes_FromStringAndSize(table.arena.buf + table.offsets[k], (Py_ssize_t)table.lens[k]);
        PyObject *first = PyLong_FromLongLong(table.firsts[k]);
        if (!sig || !first) {
            Py_XDECREF(sig);
            Py_XDECREF(first);
            Py_DECREF(code_bytes);
            Py_DECREF(sigs);
            Py_DECREF(firsts);
            goto done;
        }
        PyList_SET_ITEM(sigs, (Py_ssize_t)k, sig);
        PyList_SET_ITEM(firsts, (Py_ssize_t)k, first);
    }
    result = Py_BuildValue("(NNN)", code_bytes, sigs, firsts);
done:
    free(trie);
    free(spec);
    free(names);
    free(codes);
    free(out.buf);
    free(scratch.buf);
    intern_free(&table);
    PyBuffer_Release(&data);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&validity);
    return result;
}

static PyMethodDef methods[] = {
    {"signatures", signatures, METH_VARARGS, "The signature number of each resource's JSON text (see the module)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "recon.validate._signatures", "Resource signatures for recon validate.", -1, methods, NULL, NULL, NULL, NULL,
};

/* the SHA-256 of this file as the build hook compiled it (recon/validate/build_hook.py defines it),
   so that recon.validate.signatures can refuse a module compiled from an older source */
#ifndef RECON_SOURCE_SHA256
#define RECON_SOURCE_SHA256 ""
#endif

PyMODINIT_FUNC PyInit__signatures(void) {
    init_byte_classes();
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddStringConstant(m, "SOURCE_SHA256", RECON_SOURCE_SHA256) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
