/* Every kind of bad input through the C API gives a status and a message, never a crash.
 * Prints "ok NAME" per case; a failed case prints what it got and exits with 1.
 *
 *   bad_input MODEL   (the bundled mobilenetv2_mini.onnx: one float32 input, 1x3x224x224) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgerun.h"

static int failed = 0;

/* the call's status must be `want` and edgerun_last_error() must contain `part` */
static void expect(const char *name, edgerun_status got, edgerun_status want, const char *part) {
  const char *message = edgerun_last_error();
  if (got != want || strstr(message, part) == NULL) {
    printf("FAILED %s: status %d (want %d), message \"%s\" (want \"%s\" in it)\n", name, (int)got,
           (int)want, message, part);
    failed = 1;
  } else {
    printf("ok %s\n", name);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  const char *path = argv[1];

  expect("create without a result pointer", edgerun_runtime_create(NULL),
         EDGERUN_ERROR_INVALID_ARGUMENT, "out_runtime");
  edgerun_runtime_destroy(NULL);
  edgerun_model_destroy(NULL);
  edgerun_session_destroy(NULL);
  printf("ok destroying NULL\n");

  edgerun_runtime *rt = NULL;
  if (edgerun_runtime_create(&rt) != EDGERUN_OK) return 1;
  edgerun_model *model = NULL;
  expect("a NULL runtime", edgerun_model_load(NULL, path, &model), EDGERUN_ERROR_INVALID_ARGUMENT,
         "runtime is NULL");
  expect("a NULL path", edgerun_model_load(rt, NULL, &model), EDGERUN_ERROR_INVALID_ARGUMENT,
         "path is NULL");
  expect("a path that is not UTF-8", edgerun_model_load(rt, "model\xff\xfe.onnx", &model),
         EDGERUN_ERROR_INVALID_ARGUMENT, "not UTF-8");
  expect("a missing model", edgerun_model_load(rt, "/no/such/model.onnx", &model),
         EDGERUN_ERROR_IO, "/no/such/model.onnx");
  const uint8_t junk[] = "this is not a neural network";
  expect("bytes that are not a model",
         edgerun_model_load_bytes(rt, "junk", junk, sizeof junk, &model),
         EDGERUN_ERROR_INVALID_MODEL, "junk");
  expect("NULL bytes", edgerun_model_load_bytes(rt, "none", NULL, 10, &model),
         EDGERUN_ERROR_INVALID_ARGUMENT, "data is NULL");
  expect("an unknown setting", edgerun_runtime_configure(rt, "no_such_setting", "1"),
         EDGERUN_ERROR_INVALID_REQUEST, "no_such_setting");
  expect("a setting's bad value", edgerun_runtime_configure(rt, "use_xnnpack", "maybe"),
         EDGERUN_ERROR_INVALID_REQUEST, "use_xnnpack");
  expect("an unknown affinity", edgerun_runtime_set_affinity(rt, "huge"),
         EDGERUN_ERROR_INVALID_REQUEST, "huge");
  expect("a missing policy file", edgerun_runtime_set_policy(rt, "/no/such/policy.toml"),
         EDGERUN_ERROR_INVALID_REQUEST, "/no/such/policy.toml");
  const int64_t negative[] = {1, -3};
  expect("a negative dimension at load", edgerun_runtime_set_input_shape(rt, "input", negative, 2),
         EDGERUN_ERROR_INVALID_ARGUMENT, "negative");

  /* the runtime is unchanged by the refused settings: it still loads */
  edgerun_runtime *named = NULL;
  if (edgerun_runtime_create(&named) != EDGERUN_OK) return 1;
  if (edgerun_runtime_set_backend(named, "no_such_backend") != EDGERUN_OK) return 1;
  expect("an unknown backend", edgerun_model_load(named, path, &model),
         EDGERUN_ERROR_INVALID_REQUEST, "no_such_backend");
  edgerun_runtime_destroy(named);
  if (edgerun_runtime_set_decision_cache(rt, "off") != EDGERUN_OK) return 1;
  if (edgerun_model_load(rt, path, &model) != EDGERUN_OK) {
    printf("FAILED loading %s: %s\n", path, edgerun_last_error());
    return 1;
  }
  printf("ok the runtime still loads after refused settings\n");

  edgerun_tensor_info info;
  expect("an input index out of range", edgerun_model_tensor(model, false, 7, &info),
         EDGERUN_ERROR_INVALID_ARGUMENT, "the model has 1");
  size_t index = 0;
  expect("an unknown input name", edgerun_model_input_index(model, "pixels", &index),
         EDGERUN_ERROR_INVALID_ARGUMENT, "its inputs: input");

  edgerun_session *session = NULL;
  if (edgerun_session_create(model, &session) != EDGERUN_OK) return 1;
  edgerun_output output;
  expect("outputs before a run", edgerun_session_output(session, 0, &output),
         EDGERUN_ERROR_INVALID_ARGUMENT, "has not run");

  size_t count = 3 * 224 * 224;
  float *pixels = calloc(count + 1, sizeof(float));
  const int64_t shape[] = {1, 3, 224, 224};
  edgerun_input in = {pixels, count * sizeof(float), EDGERUN_DTYPE_F32, shape, 4};

  edgerun_input short_buffer = in;
  short_buffer.bytes -= 4;
  expect("a buffer of the wrong size", edgerun_session_run(session, &short_buffer, 1),
         EDGERUN_ERROR_INVALID_ARGUMENT, "bytes given");
  edgerun_input wrong_dtype = in;
  wrong_dtype.dtype = EDGERUN_DTYPE_I32;
  expect("the wrong dtype", edgerun_session_run(session, &wrong_dtype, 1),
         EDGERUN_ERROR_INVALID_INPUT, "i32");
  edgerun_input no_dtype = in;
  no_dtype.dtype = 99;
  expect("a dtype that does not exist", edgerun_session_run(session, &no_dtype, 1),
         EDGERUN_ERROR_INVALID_ARGUMENT, "dtype 99");
  const int64_t small[] = {1, 3, 10, 10};
  edgerun_input wrong_shape = {pixels, 300 * sizeof(float), EDGERUN_DTYPE_F32, small, 4};
  expect("a shape that does not fit", edgerun_session_run(session, &wrong_shape, 1),
         EDGERUN_ERROR_INVALID_INPUT, "10");
  edgerun_input no_data = in;
  no_data.data = NULL;
  expect("NULL data", edgerun_session_run(session, &no_data, 1), EDGERUN_ERROR_INVALID_ARGUMENT,
         "data is NULL");
  edgerun_input misaligned = in;
  misaligned.data = (const char *)pixels + 1;
  expect("misaligned data", edgerun_session_run(session, &misaligned, 1),
         EDGERUN_ERROR_INVALID_ARGUMENT, "aligned");
  expect("no inputs", edgerun_session_run(session, NULL, 0), EDGERUN_ERROR_INVALID_INPUT, "1");
  expect("NULL inputs", edgerun_session_run(session, NULL, 1), EDGERUN_ERROR_INVALID_ARGUMENT,
         "inputs is NULL");

  /* after all that, a good run */
  if (edgerun_session_run(session, &in, 1) != EDGERUN_OK) {
    printf("FAILED a good run after bad ones: %s\n", edgerun_last_error());
    return 1;
  }
  printf("ok a good run after the bad ones\n");
  expect("an output index out of range", edgerun_session_output(session, 3, &output),
         EDGERUN_ERROR_INVALID_ARGUMENT, "output 3 does not exist");
  float small_buffer[10];
  expect("copying into a buffer of the wrong size",
         edgerun_session_copy_output(session, 0, small_buffer, sizeof small_buffer),
         EDGERUN_ERROR_INVALID_ARGUMENT, "the buffer has 40");
  expect("a NULL result", edgerun_session_output(session, 0, NULL),
         EDGERUN_ERROR_INVALID_ARGUMENT, "out_output");

  edgerun_session_destroy(session);
  edgerun_model_destroy(model);
  edgerun_runtime_destroy(rt);
  free(pixels);
  return failed;
}
