/* Tests of the recsys C ABI: ETag vectors, error paths, a shared engine used from several
 * threads, and the conformance corpus (directory given as argv[1]).
 * Prints "N passed, N failed" and exits non-zero on any failure. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recsys.h"

static int passed = 0, failed = 0;

#define CHECK(cond, ...)                                        \
    do {                                                        \
        if (cond) {                                             \
            passed++;                                           \
        } else {                                                \
            failed++;                                           \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                       \
            fputc('\n', stderr);                                \
        }                                                       \
    } while (0)

/* ---- a minimal reader for the flat JSON objects our core writes ------------------------ */

/* Appends the UTF-8 encoding of code point `cp` to `out`. */
static char *put_utf8(char *out, unsigned long cp) {
    if (cp < 0x80) {
        *out++ = (char)cp;
    } else if (cp < 0x800) {
        *out++ = (char)(0xC0 | (cp >> 6));
        *out++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *out++ = (char)(0xE0 | (cp >> 12));
        *out++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *out++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *out++ = (char)(0xF0 | (cp >> 18));
        *out++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *out++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *out++ = (char)(0x80 | (cp & 0x3F));
    }
    return out;
}

static int hex4(const char *p, unsigned long *v) {
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return 0;
        *v = *v * 16 + (unsigned long)d;
    }
    return 1;
}

/* Decodes the JSON string starting at *p (just after the opening quote); advances *p past
 * the closing quote. Returns a malloc'd string, or NULL on malformed input. */
static char *read_string(const char **p) {
    const char *s = *p;
    char *buf = malloc(strlen(s) + 1), *o = buf;
    if (!buf) return NULL;
    while (*s && *s != '"') {
        if (*s != '\\') {
            *o++ = *s++;
            continue;
        }
        s++;
        switch (*s) {
        case '"': case '\\': case '/': *o++ = *s++; break;
        case 'b': *o++ = '\b'; s++; break;
        case 'f': *o++ = '\f'; s++; break;
        case 'n': *o++ = '\n'; s++; break;
        case 'r': *o++ = '\r'; s++; break;
        case 't': *o++ = '\t'; s++; break;
        case 'u': {
            unsigned long cp, lo;
            if (!hex4(s + 1, &cp)) goto bad;
            s += 5;
            if (cp >= 0xD800 && cp <= 0xDBFF && s[0] == '\\' && s[1] == 'u' && hex4(s + 2, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                s += 6;
            }
            o = put_utf8(o, cp);
            break;
        }
        default: goto bad;
        }
    }
    if (*s != '"') goto bad;
    *o = '\0';
    *p = s + 1;
    return buf;
bad:
    free(buf);
    return NULL;
}

static const char *skip_ws(const char *p) {
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
    return p;
}

/* Looks up member `key` of a flat JSON object whose values are strings or literals.
 * Returns a malloc'd copy of a string value, of a literal's text (true, null, 12), or NULL
 * when the key is absent or the text is not such an object. */
static char *member(const char *json, const char *key) {
    const char *p = skip_ws(json);
    if (*p++ != '{') return NULL;
    for (;;) {
        p = skip_ws(p);
        if (*p != '"') return NULL;
        p++;
        char *k = read_string(&p);
        if (!k) return NULL;
        p = skip_ws(p);
        if (*p++ != ':') { free(k); return NULL; }
        p = skip_ws(p);
        char *value;
        if (*p == '"') {
            p++;
            value = read_string(&p);
        } else {
            const char *start = p;
            while (*p && *p != ',' && *p != '}' && *p != ' ' && *p != '\n') p++;
            value = strndup(start, (size_t)(p - start));
        }
        int match = strcmp(k, key) == 0;
        free(k);
        if (!value) return NULL;
        if (match) return value;
        free(value);
        p = skip_ws(p);
        if (*p == ',') { p++; continue; }
        return NULL;
    }
}

/* ---- helpers ------------------------------------------------------------------------------ */

static char *static_call(const char *op, const char *input, RecsysError **err) {
    char *out = NULL;
    int rc = recsys_call_static(op, input, &out, err);
    return rc == RECSYS_OK ? out : NULL;
}

static int error_is(RecsysError *err, const char *code, int status) {
    return err && strcmp(recsys_error_code(err), code) == 0 && recsys_error_status(err) == status;
}

/* ---- ETag vectors --------------------------------------------------------------------------- */

struct vector { const char *input, *canonical, *etag; };

static const struct vector VECTORS[] = {
    {"{\"weights\":{\"pop\":0.7,\"cooc\":0.3}}", "{\"weights\": {\"pop\": 0.7, \"cooc\": 0.3}}",
     "dfcdd8e7a983874ea92e6b4a1772c69b2f43d48eda1f4e5d5219966949d9bc73"},
    {"{\"weights\":{\"pop\":1,\"cooc\":0,\"emb\":0},\"algo\":\"popularity\",\"flags\":{\"beta\":true}}",
     "{\"algo\": \"popularity\", \"flags\": {\"beta\": true}, \"weights\": {\"emb\": 0, \"pop\": 1, \"cooc\": 0}}",
     "6544371c28a72fdcb30698deaab55840dfe8a6a59f979de0afb0485cfc55fe97"},
    {"[{\"action\":\"pin\",\"target_type\":\"item\",\"item_ids\":[\"item_1\",\"item_2\"],\"surface\":\"home\",\"priority\":10}]",
     "[{\"action\": \"pin\", \"surface\": \"home\", \"item_ids\": [\"item_1\", \"item_2\"], \"priority\": 10, \"target_type\": \"item\"}]",
     "db5729dd18989279309f040b154c8a28f561cdfba1a4258fee58791499fe77a3"},
    {"{\"rules\":[{\"action\":\"block\",\"tag\":\"Adult\"}]}", "{\"rules\": [{\"tag\": \"Adult\", \"action\": \"block\"}]}",
     "a415b557cd4e1fd5e562f9a152f20f6f413d587224c7667f1614ba5c19061eeb"},
    {"{}", "{}", "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
    {"[]", "[]", "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"},
    {"{\"n\":[1.0,1e2,-0.0,0.000001,1E-7,123456789012345678901234567890]}",
     "{\"n\": [1.0, 100, 0.0, 0.000001, 0.0000001, 123456789012345678901234567890]}",
     "59740d8d86609441e1562d48334ee7edaa806068e5256c1541cfebfba5103057"},
    {"{\"a\":1,\"a\":2}", "{\"a\": 2}", NULL},
    {"{\"\\u00e9\":1,\"z\":2,\"ab\":3,\"B\":4}", "{\"B\": 4, \"z\": 2, \"ab\": 3, \"\xc3\xa9\": 1}", NULL},
};

static void test_etag_vectors(void) {
    for (size_t i = 0; i < sizeof VECTORS / sizeof VECTORS[0]; i++) {
        const struct vector *v = &VECTORS[i];
        RecsysError *err = NULL;
        char *answer = static_call("etag", v->input, &err);
        CHECK(answer != NULL && err == NULL, "etag(%s) failed: %s", v->input, err ? recsys_error_json(err) : "");
        if (!answer) { recsys_error_free(err); continue; }
        char *canonical = member(answer, "canonical"), *etag = member(answer, "etag");
        CHECK(canonical && strcmp(canonical, v->canonical) == 0, "canonical of %s: got %s", v->input, canonical ? canonical : "(none)");
        if (v->etag) CHECK(etag && strcmp(etag, v->etag) == 0, "etag of %s: got %s", v->input, etag ? etag : "(none)");
        free(canonical);
        free(etag);
        recsys_string_free(answer);
    }
}

/* ---- error paths ------------------------------------------------------------------------------ */

static void test_errors(void) {
    RecsysError *err = NULL;
    char *out = (char *)"sentinel";

    /* NULL pointers are typed errors, and *out is reset to NULL. */
    CHECK(recsys_call_static(NULL, "{}", &out, &err) == RECSYS_ERROR, "null op accepted");
    CHECK(out == NULL, "out not reset");
    CHECK(error_is(err, "RECSYS_FFI_NULL_POINTER", 400), "null op: %s", err ? recsys_error_json(err) : "no error");
    recsys_error_free(err);
    CHECK(recsys_call_static("etag", NULL, &out, &err) == RECSYS_ERROR && error_is(err, "RECSYS_FFI_NULL_POINTER", 400), "null input");
    recsys_error_free(err);
    CHECK(recsys_call_static("etag", "{}", NULL, &err) == RECSYS_ERROR && error_is(err, "RECSYS_FFI_NULL_POINTER", 400), "null out");
    recsys_error_free(err);
    CHECK(recsys_engine_call(NULL, "etag", "{}", &out, &err) == RECSYS_ERROR && error_is(err, "RECSYS_FFI_NULL_POINTER", 400), "null engine");
    recsys_error_free(err);
    /* err == NULL is allowed: the caller just gets no details. */
    CHECK(recsys_call_static(NULL, NULL, NULL, NULL) == RECSYS_ERROR, "all-null call");

    /* Invalid UTF-8 in op or input. */
    CHECK(recsys_call_static("etag", "{\"a\":\"\xff\"}", &out, &err) == RECSYS_ERROR && error_is(err, "RECSYS_FFI_INVALID_UTF8", 400),
          "invalid utf-8 input: %s", err ? recsys_error_json(err) : "no error");
    recsys_error_free(err);
    CHECK(recsys_call_static("et\xc3", "{}", &out, &err) == RECSYS_ERROR && error_is(err, "RECSYS_FFI_INVALID_UTF8", 400), "invalid utf-8 op");
    recsys_error_free(err);

    /* Unknown operation, statically and through an engine. */
    CHECK(recsys_call_static("frobnicate", "{}", &out, &err) == RECSYS_ERROR && error_is(err, "RECSYS_UNKNOWN_OPERATION", 400), "bad op");
    CHECK(err && strstr(recsys_error_json(err), "\"code\":\"RECSYS_UNKNOWN_OPERATION\"") != NULL, "error json: %s", err ? recsys_error_json(err) : "");
    CHECK(err && strlen(recsys_error_message(err)) > 0, "empty message");
    recsys_error_free(err);
    RecsysEngine *engine = recsys_engine_new(NULL, &err);
    CHECK(engine != NULL && err == NULL, "engine_new(NULL)");
    CHECK(recsys_engine_call(engine, "frobnicate", "{}", &out, &err) == RECSYS_ERROR && error_is(err, "RECSYS_UNKNOWN_OPERATION", 400),
          "engine bad op");
    recsys_error_free(err);

    /* Invalid JSON: typed error with problems. */
    CHECK(recsys_engine_call(engine, "etag", "{\"a\":", &out, &err) == RECSYS_ERROR && error_is(err, "RECSYS_JSON_SYNTAX", 400),
          "invalid json: %s", err ? recsys_error_json(err) : "no error");
    CHECK(err && strstr(recsys_error_json(err), "\"problems\":[") != NULL, "problems missing: %s", err ? recsys_error_json(err) : "");
    recsys_error_free(err);
    CHECK(recsys_engine_call(engine, "etag", "", &out, &err) == RECSYS_ERROR && error_is(err, "RECSYS_JSON_EMPTY", 400), "empty json");
    recsys_error_free(err);
    recsys_engine_free(engine);

    /* Engine options. */
    CHECK(recsys_engine_new("[]", &err) == NULL && error_is(err, "RECSYS_INVALID_OPTIONS", 400), "array options");
    recsys_error_free(err);
    CHECK(recsys_engine_new("{", &err) == NULL && error_is(err, "RECSYS_JSON_SYNTAX", 400), "bad options json");
    recsys_error_free(err);
    CHECK(recsys_engine_new("{\"a\":\"\xff\"}", NULL) == NULL, "invalid utf-8 options");
    engine = recsys_engine_new("{}", &err);
    CHECK(engine != NULL && err == NULL, "engine_new({})");
    recsys_engine_free(engine);

    /* NULL-tolerant accessors and frees. */
    CHECK(recsys_error_code(NULL) == NULL && recsys_error_message(NULL) == NULL && recsys_error_json(NULL) == NULL &&
              recsys_error_status(NULL) == 0,
          "null error accessors");
    recsys_error_free(NULL);
    recsys_string_free(NULL);
    recsys_engine_free(NULL);
    CHECK(strlen(recsys_version()) > 0, "version");
}

/* ---- handle validation: double and wrong-type frees are typed errors -------------------------- */

static void test_handles(void) {
    RecsysError *err = NULL;
    char *out = NULL;
    RecsysEngine *engine = recsys_engine_new(NULL, &err);
    CHECK(engine != NULL, "engine_new");
    CHECK(recsys_engine_call(engine, "etag", "{}", &out, &err) == RECSYS_OK, "etag");

    /* Strings: the second free is refused; a borrowed error string is not ours to free. */
    CHECK(recsys_string_free(out) == RECSYS_OK, "string free");
    CHECK(recsys_string_free(out) == RECSYS_ERROR, "double string free accepted");

    /* Errors: a wrong-type free (an error passed as an engine) and a double free. */
    CHECK(recsys_engine_call(engine, "frobnicate", "{}", &out, &err) == RECSYS_ERROR, "bad op");
    CHECK(recsys_engine_free((RecsysEngine *)(void *)err) == RECSYS_ERROR, "error freed as an engine");
    CHECK(recsys_string_free((char *)recsys_error_json(err)) == RECSYS_ERROR, "borrowed error text freed as a string");
    CHECK(error_is(err, "RECSYS_UNKNOWN_OPERATION", 400), "error survives the refused frees");
    RecsysError *first = err, *second = NULL;
    CHECK(recsys_engine_call((RecsysEngine *)(void *)first, "etag", "{}", &out, &second) == RECSYS_ERROR, "error used as an engine");
    CHECK(error_is(second, "RECSYS_FFI_INVALID_HANDLE", 400), "wrong handle: %s", second ? recsys_error_json(second) : "no error");
    CHECK(recsys_error_free(second) == RECSYS_OK, "error free");
    CHECK(recsys_error_free(first) == RECSYS_OK, "error free");
    CHECK(recsys_error_free(first) == RECSYS_ERROR, "double error free accepted");
    CHECK(recsys_error_code(first) == NULL, "accessor on a freed error");

    /* Engines: a call on a freed engine and a double free are refused. */
    CHECK(recsys_engine_free(engine) == RECSYS_OK, "engine free");
    CHECK(recsys_engine_call(engine, "etag", "{}", &out, &err) == RECSYS_ERROR && error_is(err, "RECSYS_FFI_INVALID_HANDLE", 400),
          "call on a freed engine: %s", err ? recsys_error_json(err) : "no error");
    CHECK(out == NULL, "out set by a refused call");
    recsys_error_free(err);
    CHECK(recsys_engine_free(engine) == RECSYS_ERROR, "double engine free accepted");
    CHECK(recsys_error_free((RecsysError *)(void *)engine) == RECSYS_ERROR, "engine freed as an error");
}

/* ---- one engine shared by several threads ------------------------------------------------------ */

#define THREADS 8
#define CALLS 200

struct worker { RecsysEngine *engine; int index; int ok; };

static void *worker_main(void *arg) {
    struct worker *w = arg;
    char input[64], want[80];
    for (int i = 0; i < CALLS; i++) {
        snprintf(input, sizeof input, "{\"t\":%d,\"i\":%d}", w->index, i);
        snprintf(want, sizeof want, "\"canonical\":\"{\\\"i\\\": %d, \\\"t\\\": %d}\"", i, w->index);
        char *out = NULL;
        RecsysError *err = NULL;
        if (recsys_engine_call(w->engine, "etag", input, &out, &err) != RECSYS_OK || strstr(out, want) == NULL) {
            recsys_error_free(err);
            recsys_string_free(out);
            return NULL;
        }
        recsys_string_free(out);
        /* An error path too, so error allocation is exercised concurrently. */
        if (recsys_engine_call(w->engine, "frobnicate", input, &out, &err) != RECSYS_ERROR || !error_is(err, "RECSYS_UNKNOWN_OPERATION", 400)) {
            recsys_error_free(err);
            return NULL;
        }
        recsys_error_free(err);
    }
    w->ok = 1;
    return NULL;
}

static void test_threads(void) {
    RecsysEngine *engine = recsys_engine_new(NULL, NULL);
    pthread_t threads[THREADS];
    struct worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (struct worker){engine, i, 0};
        CHECK(pthread_create(&threads[i], NULL, worker_main, &workers[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        CHECK(workers[i].ok, "thread %d saw a wrong answer", i);
    }
    recsys_engine_free(engine);
}

/* ---- backpressure: the engine's admission gate, reached through engine options -------------- */

#define BP_THREADS 4
#define BP_CALLS 3000
/* Exclusions per request: enough decoding and interning that a call holds the only slot for a
 * while, so the threads overlap on it however fast the core serves a two-item tenant (and
 * under valgrind, which runs one thread at a time and switches between them mid-call). */
#define BP_EXCLUDED 2000

static const char *BP_DOCS =
    "{\"tenant\":\"demo\",\"surface\":\"home\",\"signals\":{\"popularity\":"
    "[{\"item_id\":\"a\",\"score\":3},{\"item_id\":\"b\",\"score\":2}]}}";

/* The request: k=2 for one user, excluding BP_EXCLUDED ids the catalog does not have. */
static char *bp_request(void) {
    size_t cap = 256 + (size_t)BP_EXCLUDED * 16;
    char *r = malloc(cap);
    if (r == NULL) return NULL;
    size_t n = (size_t)snprintf(r, cap, "%s",
        "{\"request\":{\"surface\":\"home\",\"k\":2,\"user\":{\"user_id\":\"u\"},"
        "\"candidates\":{\"exclude_ids\":[");
    for (int i = 0; i < BP_EXCLUDED; i++) {
        n += (size_t)snprintf(r + n, cap - n, "%s\"x%d\"", i ? "," : "", i);
    }
    snprintf(r + n, cap - n, "%s",
        "]}},\"ctx\":{\"now\":\"2026-01-01T00:00:00Z\",\"tenant\":\"demo\"}}");
    return r;
}

/* Set once any call was refused: the workers then stop early (the gate has been seen full). */
static atomic_int bp_refused_any;

struct bp_worker { RecsysEngine *engine; const char *request; int ok, overloaded, other; };

static void *bp_main(void *arg) {
    struct bp_worker *w = arg;
    for (int i = 0; i < BP_CALLS && !atomic_load(&bp_refused_any); i++) {
        char *out = NULL;
        RecsysError *err = NULL;
        if (recsys_engine_call(w->engine, "recommend", w->request, &out, &err) == RECSYS_OK) {
            w->ok++;
        } else if (error_is(err, "RECSYS_OVERLOADED", 503) &&
                   strstr(recsys_error_json(err), "\"retry_after\":2") != NULL) {
            w->overloaded++;
            atomic_store(&bp_refused_any, 1);
        } else {
            w->other++;
        }
        recsys_string_free(out);
        recsys_error_free(err);
    }
    return NULL;
}

static void test_backpressure(void) {
    RecsysError *err = NULL;
    /* A typo in the option is refused, with the member named. */
    CHECK(recsys_engine_new("{\"backpressure\":{\"max_inflight\":1}}", &err) == NULL, "typo accepted");
    CHECK(error_is(err, "RECSYS_INVALID_OPTIONS", 400) && strstr(recsys_error_message(err), "max_inflight"),
          "typo error: %s", recsys_error_message(err));
    recsys_error_free(err);
    err = NULL;
    RecsysEngine *engine = recsys_engine_new(
        "{\"backpressure\":{\"max_in_flight\":1,\"max_queue\":0,\"queue_timeout_ms\":0,\"retry_after_ms\":2000}}",
        &err);
    CHECK(engine != NULL, "backpressure option refused: %s", err ? recsys_error_message(err) : "");
    if (engine == NULL) {
        recsys_error_free(err);
        return;
    }
    char *out = NULL;
    CHECK(recsys_engine_call(engine, "load_snapshot", BP_DOCS, &out, NULL) == RECSYS_OK, "load_snapshot");
    recsys_string_free(out);
    char *request = bp_request();
    CHECK(request != NULL, "out of memory");
    if (request == NULL) {
        recsys_engine_free(engine);
        return;
    }
    atomic_store(&bp_refused_any, 0);
    pthread_t threads[BP_THREADS];
    struct bp_worker workers[BP_THREADS];
    for (int i = 0; i < BP_THREADS; i++) {
        workers[i] = (struct bp_worker){engine, request, 0, 0, 0};
        CHECK(pthread_create(&threads[i], NULL, bp_main, &workers[i]) == 0, "pthread_create");
    }
    int ok = 0, overloaded = 0, other = 0;
    for (int i = 0; i < BP_THREADS; i++) {
        pthread_join(threads[i], NULL);
        ok += workers[i].ok;
        overloaded += workers[i].overloaded;
        other += workers[i].other;
    }
    /* Four threads on one slot: every call is served or refused with 503 + retry_after, and
     * the slot was both taken and found taken. */
    CHECK(other == 0, "%d calls failed with something other than RECSYS_OVERLOADED", other);
    CHECK(ok > 0 && overloaded > 0, "served %d, refused %d: the gate never filled", ok, overloaded);
    free(request);
    recsys_engine_free(engine);
}

/* ---- conformance corpus ------------------------------------------------------------------------ */

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
    if (buf) buf[n] = '\0';
    fclose(f);
    return buf;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs one case; returns 1 when it passed. The case's texts go to the engine verbatim. */
static int run_case(const char *path) {
    int ok = 0;
    RecsysError *err = NULL;
    char *text = read_file(path), *split = NULL, *name = NULL, *options = NULL, *docs = NULL, *op = NULL, *input = NULL,
         *expect = NULL, *actual = NULL, *compare_in = NULL, *compare = NULL, *pass = NULL;
    RecsysEngine *engine = NULL;
    if (!text) { fprintf(stderr, "%s: cannot read\n", path); goto done; }
    split = static_call("conformance_split", text, &err);
    if (!split) { fprintf(stderr, "%s: cannot split: %s\n", path, recsys_error_json(err)); goto done; }
    name = member(split, "name");
    options = member(split, "engine");
    docs = member(split, "documents");
    op = member(split, "call");
    input = member(split, "input");
    expect = member(split, "expect");
    if (!name || !options || !docs || !op || !input || !expect) { fprintf(stderr, "%s: bad split answer %s\n", path, split); goto done; }
    /* A JSON null member comes back as the literal text "null". */
    engine = recsys_engine_new(strcmp(options, "null") == 0 ? NULL : options, &err);
    if (!engine) { fprintf(stderr, "%s: engine options rejected: %s\n", name, recsys_error_json(err)); goto done; }
    if (strcmp(docs, "null") != 0) {
        char *loaded = NULL;
        if (recsys_engine_call(engine, "load_snapshot", docs, &loaded, &err) != RECSYS_OK) {
            fprintf(stderr, "%s: load_snapshot failed: %s\n", name, recsys_error_json(err));
            goto done;
        }
        recsys_string_free(loaded);
    }
    char *answer = NULL;
    if (recsys_engine_call(engine, op, input, &answer, &err) == RECSYS_OK) {
        actual = strdup(answer);
        recsys_string_free(answer);
    } else {
        /* On error the actual value is {"error": <the error object>}. */
        const char *ej = recsys_error_json(err);
        actual = malloc(strlen(ej) + 16);
        if (actual) sprintf(actual, "{\"error\":%s}", ej);
        recsys_error_free(err);
        err = NULL;
    }
    if (!actual) goto done;
    compare_in = malloc(strlen(expect) + strlen(actual) + 32);
    if (!compare_in) goto done;
    sprintf(compare_in, "{\"expect\":%s,\"actual\":%s}", expect, actual);
    compare = static_call("conformance_compare", compare_in, &err);
    if (!compare) { fprintf(stderr, "%s: compare failed: %s\n", name, recsys_error_json(err)); goto done; }
    pass = member(compare, "pass");
    ok = pass && strcmp(pass, "true") == 0;
    if (!ok) {
        char *want = member(compare, "expected"), *got = member(compare, "actual");
        fprintf(stderr, "%s:\n  expected %s\n  actual   %s\n", name, want ? want : "?", got ? got : "?");
        free(want);
        free(got);
    }
done:
    recsys_error_free(err);
    recsys_engine_free(engine);
    recsys_string_free(split);
    recsys_string_free(compare);
    free(text);
    free(name); free(options); free(docs); free(op); free(input); free(expect); free(actual); free(compare_in); free(pass);
    return ok;
}

static void test_conformance(const char *dir) {
    DIR *d = opendir(dir);
    CHECK(d != NULL, "cannot open %s", dir);
    if (!d) return;
    char *names[4096];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < sizeof names / sizeof names[0]) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0) names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_names);
    int case_passed = 0, case_failed = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (run_case(path)) case_passed++; else case_failed++;
        free(names[i]);
    }
    printf("c conformance: %d passed, %d failed\n", case_passed, case_failed);
    CHECK(case_failed == 0, "%d conformance case(s) failed", case_failed);
    CHECK(case_passed > 0, "the conformance corpus is empty");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CONFORMANCE_CASES_DIR\n", argv[0]);
        return 2;
    }
    test_etag_vectors();
    test_errors();
    test_handles();
    test_threads();
    test_backpressure();
    test_conformance(argv[1]);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
