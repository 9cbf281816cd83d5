/* classify: runs a model on one input through edgerun's C API.
 *
 *   classify MODEL INPUT.f32 OUTPUT.f32
 *
 * INPUT.f32 holds the model's first input as little-endian float32 in row-major order, of the
 * shape the model declares; the first output is written to OUTPUT.f32 the same way. Prints
 * how the backend was chosen and the five largest outputs. */
#include <stdio.h>
#include <stdlib.h>

#include "edgerun.h"

/* on failure: the call, edgerun's message, and exit */
#define CHECK(call)                                                                     \
  do {                                                                                  \
    edgerun_status status_ = (call);                                                    \
    if (status_ != EDGERUN_OK) {                                                        \
      fprintf(stderr, "classify: %s failed (%d): %s\n", #call, (int)status_,            \
              edgerun_last_error());                                                    \
      exit(1);                                                                          \
    }                                                                                   \
  } while (0)

static void *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(1); }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  void *data = malloc(n > 0 ? (size_t)n : 1);
  if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) { perror(path); exit(1); }
  fclose(f);
  *size = (size_t)n;
  return data;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: classify MODEL INPUT.f32 OUTPUT.f32\n");
    return 2;
  }
  printf("edgerun %s\n", edgerun_version());

  edgerun_runtime *runtime = NULL;
  edgerun_model *model = NULL;
  edgerun_session *session = NULL;
  CHECK(edgerun_runtime_create(&runtime));
  CHECK(edgerun_model_load(runtime, argv[1], &model));

  const char *decision = NULL;
  CHECK(edgerun_model_decision(model, &decision));
  printf("%s\n", decision);

  edgerun_tensor_info in;
  CHECK(edgerun_model_tensor(model, false, 0, &in));
  size_t count = 1;
  for (size_t d = 0; d < in.rank; d++) {
    if (in.shape[d] < 0) {
      fprintf(stderr, "classify: input %s has a dynamic dimension %zu\n", in.name, d);
      return 1;
    }
    count *= (size_t)in.shape[d];
  }
  size_t bytes = 0;
  float *pixels = read_file(argv[2], &bytes);
  if (in.dtype != EDGERUN_DTYPE_F32 || bytes != count * sizeof(float)) {
    fprintf(stderr, "classify: %s has %zu bytes; input %s takes %zu float32 values\n", argv[2],
            bytes, in.name, count);
    return 1;
  }

  CHECK(edgerun_session_create(model, &session));
  edgerun_input input = {pixels, bytes, EDGERUN_DTYPE_F32, in.shape, in.rank};
  CHECK(edgerun_session_run(session, &input, 1));

  edgerun_output out;
  CHECK(edgerun_session_output(session, 0, &out));
  if (out.info.dtype != EDGERUN_DTYPE_F32) {
    fprintf(stderr, "classify: output %s is not float32\n", out.info.name);
    return 1;
  }
  const float *scores = out.data;
  size_t classes = out.bytes / sizeof(float);
  /* the five largest scores, each the largest not taken yet */
  size_t top[5];
  int found = 0;
  printf("top-5:");
  while (found < 5 && (size_t)found < classes) {
    size_t best = classes;
    for (size_t c = 0; c < classes; c++) {
      int taken = 0;
      for (int k = 0; k < found; k++) taken |= top[k] == c;
      if (!taken && (best == classes || scores[c] > scores[best])) best = c;
    }
    top[found++] = best;
    printf(" %zu", best);
  }
  printf("\n");

  FILE *f = fopen(argv[3], "wb");
  if (!f || fwrite(out.data, 1, out.bytes, f) != out.bytes || fclose(f) != 0) {
    perror(argv[3]);
    return 1;
  }

  edgerun_session_destroy(session);
  edgerun_model_destroy(model);
  edgerun_runtime_destroy(runtime);
  free(pixels);
  return 0;
}
