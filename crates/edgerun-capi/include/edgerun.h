/* edgerun's C API (libedgerun.so, libedgerun.a). Generated from crates/edgerun-capi/src/lib.rs
 * by cbindgen: do not edit; EDGERUN_WRITE_HEADER=1 cargo test -p edgerun-capi --test header
 * writes it again.
 *
 * Conventions: every handle has a create and a destroy call, and destroying NULL does
 * nothing. Every other call returns an edgerun_status; on failure edgerun_last_error() gives
 * the message on the calling thread until its next call into edgerun. Inputs are read from
 * the caller's memory during a run; outputs stay in the session until its next run.
 *
 * Threads: a runtime may load models, and a model may make sessions, from several threads
 * at once once they are set up; the calls that change a runtime's options must not run at
 * the same time as any other call on it. A session is used by one thread at a time. */

#ifndef EDGERUN_H
#define EDGERUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// What a call did. `EDGERUN_OK` is 0; every other value is a failure, described by
// `edgerun_last_error()`. The failures from loading and running are edgerun's error kinds;
// `EDGERUN_ERROR_INVALID_ARGUMENT` is a mistake in the C call itself.
typedef enum edgerun_status {
  EDGERUN_OK = 0,
  // A file could not be found or read.
  EDGERUN_ERROR_IO = 1,
  // The model file is corrupt, truncated or not a model.
  EDGERUN_ERROR_INVALID_MODEL = 2,
  // A valid model uses something no available backend can run.
  EDGERUN_ERROR_UNSUPPORTED = 3,
  // An option or setting is wrong.
  EDGERUN_ERROR_INVALID_REQUEST = 4,
  // The inputs of a run do not fit the model (count, dtype, shape).
  EDGERUN_ERROR_INVALID_INPUT = 5,
  // The backend asked for cannot be used here (library missing or unusable).
  EDGERUN_ERROR_UNAVAILABLE = 6,
  // The engine failed on a valid model and valid inputs.
  EDGERUN_ERROR_BACKEND = 7,
  // The call's arguments are wrong: a NULL pointer, a string that is not UTF-8, a buffer
  // whose size does not match, an index out of range.
  EDGERUN_ERROR_INVALID_ARGUMENT = 8,
  // A bug in edgerun, caught at the boundary; the handle it happened on should be
  // destroyed.
  EDGERUN_ERROR_INTERNAL = 9,
} edgerun_status;

// Element types, as `edgerun_tensor_info.dtype` gives them and `edgerun_input.dtype` takes
// them.
typedef enum edgerun_dtype {
  EDGERUN_DTYPE_F32 = 1,
  EDGERUN_DTYPE_F16 = 2,
  EDGERUN_DTYPE_BF16 = 3,
  EDGERUN_DTYPE_F64 = 4,
  EDGERUN_DTYPE_I8 = 5,
  EDGERUN_DTYPE_U8 = 6,
  EDGERUN_DTYPE_I16 = 7,
  EDGERUN_DTYPE_I32 = 8,
  EDGERUN_DTYPE_I64 = 9,
  EDGERUN_DTYPE_U16 = 10,
  EDGERUN_DTYPE_U32 = 11,
  EDGERUN_DTYPE_U64 = 12,
  // One byte per element, 0 or 1.
  EDGERUN_DTYPE_BOOL = 13,
} edgerun_dtype;

// A model prepared on the backend chosen for it. Shared by the sessions made from it.
typedef struct edgerun_model edgerun_model;

// Options, and the backends, that models are loaded with.
typedef struct edgerun_runtime edgerun_runtime;

// One inference at a time on a model, with its outputs.
typedef struct edgerun_session edgerun_session;

// A model's input or output as the model declares it; `edgerun_session_output` fills one
// with the shape of the last run. The pointers belong to the model (or the session) and stay
// valid while it lives.
typedef struct edgerun_tensor_info {
  // NUL-terminated, UTF-8.
  const char *name;
  enum edgerun_dtype dtype;
  // Number of dimensions.
  size_t rank;
  // `rank` dimensions; -1 for one that is known only at run time.
  const int64_t *shape;
  // Whether the tensor is quantized (then `scale` and `zero_point` apply).
  bool quantized;
  float scale;
  int32_t zero_point;
} edgerun_tensor_info;

// One input of a run, in the caller's memory, read during `edgerun_session_run` only.
typedef struct edgerun_input {
  // The elements, in row-major order, aligned for their type. May be NULL when `bytes` is
  // 0.
  const void *data;
  // Size of `data` in bytes: the element count times the element size.
  size_t bytes;
  // An `edgerun_dtype` value.
  int32_t dtype;
  // `rank` dimensions, none negative.
  const int64_t *shape;
  size_t rank;
} edgerun_input;

// An output of the last run, in the session's memory until its next run or destroy.
typedef struct edgerun_output {
  const void *data;
  size_t bytes;
  struct edgerun_tensor_info info;
} edgerun_output;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

// edgerun's version, `MAJOR.MINOR.PATCH`; static, never NULL.
const char *edgerun_version(void);

// The message of the calling thread's last failed call ("" after a call that succeeded).
// Valid until the thread's next call into edgerun; never NULL.
const char *edgerun_last_error(void);

// A runtime with every backend of this build and the defaults: `auto` chooses the backend by
// measuring, one thread per big core, the decision store in `~/.cache/edgerun`.
//
// # Safety
// `out_runtime` is NULL or writable.
enum edgerun_status edgerun_runtime_create(struct edgerun_runtime **out_runtime);

// Destroys a runtime. Models loaded with it stay valid. NULL does nothing.
//
// # Safety
// `runtime` is NULL or a runtime not destroyed yet, used by no other thread.
void edgerun_runtime_destroy(struct edgerun_runtime *runtime);

// Inference threads per model; 0 or less restores the default (one per big core, and the
// count measured by `auto`).
//
// # Safety
// `runtime` is NULL or a live runtime, used by no other thread meanwhile.
enum edgerun_status edgerun_runtime_set_threads(struct edgerun_runtime *runtime, int32_t threads);

// The CPUs inference threads run on: `big`, `little`, `all`, `default` or a list such as
// `0-3,6`.
//
// # Safety
// `runtime` is NULL or a live runtime, used by no other thread meanwhile; `affinity` is
// NULL or NUL-terminated.
enum edgerun_status edgerun_runtime_set_affinity(struct edgerun_runtime *runtime,
                                                 const char *affinity);

// How the backend is chosen: `auto` (measure, the default), `first`, or a backend's name
// (`tract`, `tflite`, `litert`, `ort`).
//
// # Safety
// As `edgerun_runtime_set_affinity`.
enum edgerun_status edgerun_runtime_set_backend(struct edgerun_runtime *runtime,
                                                const char *backend);

// A backend's setting by name, as the CLI's `--key=value` (`litert_lib`, `use_xnnpack`,
// `ort_optimization`, ...).
//
// # Safety
// As `edgerun_runtime_set_affinity`, for `key` and `value`.
enum edgerun_status edgerun_runtime_configure(struct edgerun_runtime *runtime,
                                              const char *key,
                                              const char *value);

// A policy file (TOML) whose rules set the backend, threads, affinity and settings per model.
//
// # Safety
// As `edgerun_runtime_set_affinity`, for `path`.
enum edgerun_status edgerun_runtime_set_policy(struct edgerun_runtime *runtime, const char *path);

// Where `auto` keeps its measured choices (and LiteRT its packed weights): a file path,
// `off` to measure on every load, or NULL for the default (`EDGERUN_CACHE`, else
// `~/.cache/edgerun/decisions.json`).
//
// # Safety
// As `edgerun_runtime_set_affinity`, for `path` (which may be NULL).
enum edgerun_status edgerun_runtime_set_decision_cache(struct edgerun_runtime *runtime,
                                                       const char *path);

// The shape a dynamic input is prepared for at load (`rank` dimensions, none negative).
//
// # Safety
// As `edgerun_runtime_set_affinity`, for `input`; `shape` is NULL or has `rank` elements.
enum edgerun_status edgerun_runtime_set_input_shape(struct edgerun_runtime *runtime,
                                                    const char *input,
                                                    const int64_t *shape,
                                                    size_t rank);

// Loads a model file (ONNX, TensorFlow Lite, NNEF) on the backend the runtime chooses.
//
// # Safety
// `runtime` is NULL or a live runtime; `path` NULL or NUL-terminated; `out_model` NULL or
// writable.
enum edgerun_status edgerun_model_load(const struct edgerun_runtime *runtime,
                                       const char *path,
                                       struct edgerun_model **out_model);

// Loads a model from memory (`bytes` bytes at `data`, copied), named `name` in messages.
//
// # Safety
// As `edgerun_model_load`; `data` is NULL or has `bytes` readable bytes.
enum edgerun_status edgerun_model_load_bytes(const struct edgerun_runtime *runtime,
                                             const char *name,
                                             const uint8_t *data,
                                             size_t bytes,
                                             struct edgerun_model **out_model);

// Destroys a model. Its sessions must be destroyed first. NULL does nothing.
//
// # Safety
// `model` is NULL or a model not destroyed yet, with no session and no other thread using
// it.
void edgerun_model_destroy(struct edgerun_model *model);

// Number of inputs (`output` false) or outputs (`output` true).
//
// # Safety
// `model` is NULL or live; `out_count` NULL or writable.
enum edgerun_status edgerun_model_count(const struct edgerun_model *model,
                                        bool output,
                                        size_t *out_count);

// The description of input (`output` false) or output (`output` true) number `index`.
//
// # Safety
// `model` is NULL or live; `out_info` NULL or writable.
enum edgerun_status edgerun_model_tensor(const struct edgerun_model *model,
                                         bool output,
                                         size_t index,
                                         struct edgerun_tensor_info *out_info);

// The index of the input named `name`.
//
// # Safety
// `model` is NULL or live; `name` NULL or NUL-terminated; `out_index` NULL or writable.
enum edgerun_status edgerun_model_input_index(const struct edgerun_model *model,
                                              const char *name,
                                              size_t *out_index);

// How the backend was chosen (`--explain`'s text): every candidate, its measured time or why
// it was skipped, and the winner. Owned by the model.
//
// # Safety
// `model` is NULL or live; `out_text` NULL or writable.
enum edgerun_status edgerun_model_decision(const struct edgerun_model *model,
                                           const char **out_text);

// A session to run the model. Each thread that runs the model at the same time needs its own.
//
// # Safety
// `model` is NULL or live (and outlives the session); `out_session` NULL or writable.
enum edgerun_status edgerun_session_create(const struct edgerun_model *model,
                                           struct edgerun_session **out_session);

// Destroys a session and its outputs. NULL does nothing.
//
// # Safety
// `session` is NULL or a session not destroyed yet, used by no other thread.
void edgerun_session_destroy(struct edgerun_session *session);

// Runs the model once on `count` inputs, in the order of the model's inputs. Outputs stay in
// the session until its next run: `edgerun_session_output`.
//
// # Safety
// `session` is NULL or live, used by this thread only; `inputs` is NULL or has `count`
// elements, each valid as `edgerun_input` says.
enum edgerun_status edgerun_session_run(struct edgerun_session *session,
                                        const struct edgerun_input *inputs,
                                        size_t count);

// Output number `index` of the last run: its elements (in the session's memory until the
// next run or destroy) and its description with the run's shape.
//
// # Safety
// `session` is NULL or live; `out_output` NULL or writable.
enum edgerun_status edgerun_session_output(const struct edgerun_session *session,
                                           size_t index,
                                           struct edgerun_output *out_output);

// Copies output number `index` of the last run into the caller's `buffer` of `bytes` bytes,
// which must be its exact size.
//
// # Safety
// `session` is NULL or live; `buffer` NULL or writable for `bytes` bytes.
enum edgerun_status edgerun_session_copy_output(const struct edgerun_session *session,
                                                size_t index,
                                                void *buffer,
                                                size_t bytes);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* EDGERUN_H */
