/* nestor/c_api.h: a plain C API for serving nestor exports (libnestor_runtime).
 *
 * Ownership, in one rule: every object a function hands out through a `**out` pointer
 * belongs to the caller and is freed with the matching *_release function; everything
 * passed *in* is only borrowed for the duration of the call (data is copied).
 *
 * Errors: functions return a nestor_status*. NULL means OK; otherwise the caller owns
 * the status, reads nestor_status_code / nestor_status_message and frees it with
 * nestor_status_release. On error, out-parameters are left untouched. No function
 * lets a C++ exception escape and none aborts.
 *
 * Thread safety: a nestor_predictor may be run from many threads at once. Tensors are
 * immutable after creation and may be read from many threads.
 */
#ifndef NESTOR_C_API_H_
#define NESTOR_C_API_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nestor_status nestor_status;
typedef struct nestor_tensor nestor_tensor;
typedef struct nestor_predictor nestor_predictor;

/* Status codes, as TensorFlow's. */
typedef enum nestor_code {
  NESTOR_OK = 0,
  NESTOR_CANCELLED = 1,
  NESTOR_UNKNOWN = 2,
  NESTOR_INVALID_ARGUMENT = 3,
  NESTOR_NOT_FOUND = 5,
  NESTOR_ALREADY_EXISTS = 6,
  NESTOR_FAILED_PRECONDITION = 9,
  NESTOR_OUT_OF_RANGE = 11,
  NESTOR_UNIMPLEMENTED = 12,
  NESTOR_INTERNAL = 13,
  NESTOR_DATA_LOSS = 15
} nestor_code;

typedef enum nestor_dtype {
  NESTOR_FLOAT32 = 0,
  NESTOR_FLOAT64 = 1,
  NESTOR_INT32 = 2,
  NESTOR_INT64 = 3,
  NESTOR_BOOL = 4, /* one byte per element, 0 or 1 */
  NESTOR_STRING = 5
} nestor_dtype;

/* ---- status */
nestor_code nestor_status_code(const nestor_status* s);       /* NESTOR_OK for NULL */
/* The message; valid until the status is released. "" for NULL. */
const char* nestor_status_message(const nestor_status* s);
void nestor_status_release(nestor_status* s);                 /* NULL is a no-op */

/* "float32", ...; NULL for an unknown value. Static storage. */
const char* nestor_dtype_name(nestor_dtype dtype);

/* ---- tensors */
/* A tensor of a non-string dtype holding a copy of `data` (`nbytes` must equal
 * product(dims) * element size; rank 0 is a scalar and dims may then be NULL). */
nestor_status* nestor_tensor_create(nestor_dtype dtype, const int64_t* dims, int rank, const void* data,
                                    size_t nbytes, nestor_tensor** out);
/* A string tensor: element i is a copy of the lens[i] bytes at strs[i] (any bytes). */
nestor_status* nestor_tensor_create_strings(const int64_t* dims, int rank, const char* const* strs,
                                            const size_t* lens, nestor_tensor** out);
void nestor_tensor_release(nestor_tensor* t); /* NULL is a no-op */

nestor_dtype nestor_tensor_dtype(const nestor_tensor* t);
int nestor_tensor_rank(const nestor_tensor* t);
/* rank() entries; valid while the tensor lives. */
const int64_t* nestor_tensor_dims(const nestor_tensor* t);
int64_t nestor_tensor_num_elements(const nestor_tensor* t);
/* Row-major elements of a non-string tensor (NULL for strings); valid while the tensor lives. */
const void* nestor_tensor_data(const nestor_tensor* t);
size_t nestor_tensor_nbytes(const nestor_tensor* t); /* 0 for strings */
/* Element i of a string tensor (bytes, not NUL-terminated in general; *len gets the
 * length). NULL if not a string tensor or i is out of range. Valid while the tensor lives. */
const char* nestor_tensor_string_at(const nestor_tensor* t, int64_t i, size_t* len);

/* ---- predictor */
typedef struct nestor_predictor_options {
  size_t struct_size;    /* sizeof(nestor_predictor_options): lets the struct grow */
  int intra_op_threads;  /* 0: one per core */
} nestor_predictor_options;

/* Loads and validates the export directory `dir`. options may be NULL (defaults).
 * On success *out is a new predictor owned by the caller. */
nestor_status* nestor_predictor_load(const char* dir, const nestor_predictor_options* options,
                                     nestor_predictor** out);
void nestor_predictor_release(nestor_predictor* p); /* NULL is a no-op */

size_t nestor_predictor_num_signatures(const nestor_predictor* p);
/* Name of signature i (sorted order), NULL if out of range; valid while p lives. */
const char* nestor_predictor_signature_name(const nestor_predictor* p, size_t i);

/* Input / output specs of a signature, sorted by key. Strings and dims pointers stay
 * valid while p lives; shape dims are -1 where unknown, rank -1 if unknown. */
nestor_status* nestor_predictor_num_inputs(const nestor_predictor* p, const char* signature, size_t* out);
nestor_status* nestor_predictor_num_outputs(const nestor_predictor* p, const char* signature, size_t* out);
nestor_status* nestor_predictor_input(const nestor_predictor* p, const char* signature, size_t i, const char** key,
                                      nestor_dtype* dtype, int* rank, const int64_t** dims);
nestor_status* nestor_predictor_output(const nestor_predictor* p, const char* signature, size_t i, const char** key,
                                       nestor_dtype* dtype, int* rank, const int64_t** dims);

/* Runs `signature` on the n_inputs tensors inputs[i] fed to keys[i] (borrowed).
 * On success:
 *   *n_outputs  the number of outputs (the signature's outputs, sorted by key);
 *   *out_keys   (if out_keys is not NULL) a new array of *n_outputs NUL-terminated keys;
 *   *outputs    a new array of *n_outputs new tensors.
 * The caller owns both arrays and everything in them: free them together with
 * nestor_outputs_release. To keep one tensor longer, take it out of the array (set the
 * slot to NULL) and later release it with nestor_tensor_release. */
nestor_status* nestor_predictor_run(const nestor_predictor* p, const char* signature, size_t n_inputs,
                                    const char* const* keys, const nestor_tensor* const* inputs, size_t* n_outputs,
                                    char*** out_keys, nestor_tensor*** outputs);
/* Frees what nestor_predictor_run returned: each non-NULL key and tensor and the two
 * arrays. keys or outputs may be NULL. */
void nestor_outputs_release(size_t n, char** keys, nestor_tensor** outputs);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif  /* NESTOR_C_API_H_ */
