/* Binding overhead, C ABI (librecsys_ffi): a small recommend (examples/data snapshot, k=10)
 * through recsys_engine_call, answer freed with recsys_string_free, timed call by call.
 *
 *   gcc -std=c11 -O2 -I bindings/c/include -o c_overhead benches/bindings/c_overhead.c \
 *       -L target/release -lrecsys_ffi -Wl,-rpath,target/release
 *   ./c_overhead DOCUMENTS_JSON [ANSWER_OUT]
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "recsys.h"

#define REQUEST "{\"surface\":\"home\",\"k\":10,\"user\":{\"user_id\":\"u_fitness\"},\"anchors\":{\"item_ids\":[\"sku-running-shoe\"]}}"
#define CTX "{\"now\":\"2026-01-02T00:00:00Z\",\"request_id\":\"bench\",\"tenant\":\"demo\"}"

static long env_long(const char *name, long fallback) {
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : fallback;
}

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
    if (buf) buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Runs one call; when `save` is given, writes the answer text there (run.sh compares it
 * byte for byte with the other bindings' answers). */
static int call(const RecsysEngine *engine, const char *op, const char *input, size_t *len, const char *save) {
    char *out = NULL;
    RecsysError *err = NULL;
    if (recsys_engine_call(engine, op, input, &out, &err) != RECSYS_OK) {
        fprintf(stderr, "%s: %s\n", op, recsys_error_json(err));
        recsys_error_free(err);
        return -1;
    }
    if (len) *len = strlen(out);
    if (save) {
        FILE *f = fopen(save, "wb");
        if (f) { fputs(out, f); fclose(f); }
    }
    recsys_string_free(out);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s DOCUMENTS_JSON [ANSWER_OUT]\n", argv[0]); return 2; }
    long warmup = env_long("BENCH_WARMUP", 2000), calls = env_long("BENCH_CALLS", 20000);
    char *documents = read_file(argv[1]);
    if (!documents) { perror(argv[1]); return 2; }
    RecsysEngine *engine = recsys_engine_new(NULL, NULL);
    const char *input = "{\"request\":" REQUEST ",\"ctx\":" CTX "}";
    size_t len = 0;
    if (!engine || call(engine, "load_snapshot", documents, NULL, NULL) ||
        call(engine, "recommend", input, &len, argc > 2 ? argv[2] : NULL)) return 1;
    printf("c: answer %zu bytes\n", len);

    for (long i = 0; i < warmup; i++) call(engine, "recommend", input, NULL, NULL);
    long long *ns = malloc(sizeof *ns * (size_t)calls);
    for (long i = 0; i < calls; i++) {
        long long t = now_ns();
        call(engine, "recommend", input, NULL, NULL);
        ns[i] = now_ns() - t;
    }
    qsort(ns, (size_t)calls, sizeof *ns, cmp);
    printf("c recsys_engine_call: median %.2f us, p99 %.2f us (n=%ld)\n",
           ns[(size_t)((calls - 1) * 0.5 + 0.5)] / 1000.0, ns[(size_t)((calls - 1) * 0.99 + 0.5)] / 1000.0, calls);
    free(ns);
    free(documents);
    recsys_engine_free(engine);
    return 0;
}
