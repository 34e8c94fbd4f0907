// capi/c_api.cc: the C API over nestor::Predictor (see nestor/c_api.h).
#include "nestor/c_api.h"

#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>

#include "nestor/error.h"
#include "nestor/predictor.h"

struct nestor_status {
  nestor_code code;
  std::string message;
};

struct nestor_tensor {
  nestor::Tensor t;
};

struct nestor_predictor {
  std::unique_ptr<nestor::Predictor> p;
  std::vector<std::string> names;  // signature names, for nestor_predictor_signature_name
};

namespace {

// Returned when even a status cannot be allocated; nestor_status_release never frees it.
nestor_status g_oom{NESTOR_INTERNAL, "out of memory"};

nestor_status* make_status(nestor_code code, const std::string& msg) {
  try {
    return new nestor_status{code, msg};
  } catch (...) {
    return &g_oom;
  }
}

template <typename F>
nestor_status* guard(F&& f) {
  try {
    f();
    return nullptr;
  } catch (const nestor::Error& e) {
    return make_status(static_cast<nestor_code>(e.code()), e.what());
  } catch (const std::bad_alloc&) {
    return make_status(NESTOR_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return make_status(NESTOR_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return make_status(NESTOR_INTERNAL, "internal error: unknown exception");
  }
}

nestor::Dims make_dims(const int64_t* dims, int rank) {
  NESTOR_CHECK_ARG(rank >= 0 && rank <= 64, "rank must be in [0, 64], got ", rank);
  NESTOR_CHECK_ARG(rank == 0 || dims != nullptr, "dims is NULL for rank ", rank);
  nestor::Dims d(dims, dims + rank);
  int64_t n = 1;
  for (int i = 0; i < rank; ++i) {
    NESTOR_CHECK_ARG(d[i] >= 0, "dimension ", i, " is negative: ", d[i]);
    NESTOR_CHECK_ARG(d[i] == 0 || n <= (int64_t{1} << 50) / d[i], "shape ", nestor::dims_str(d), " is too large");
    n *= d[i];
  }
  return d;
}

nestor::DType to_dtype(nestor_dtype d) {
  NESTOR_CHECK_ARG(d >= NESTOR_FLOAT32 && d <= NESTOR_STRING, "unknown dtype ", static_cast<int>(d));
  return static_cast<nestor::DType>(d);
}

const nestor::Predictor::TensorSpec& spec(const nestor_predictor* p, const char* sig, size_t i, bool input) {
  NESTOR_CHECK_ARG(p != nullptr && sig != nullptr, "predictor and signature must not be NULL");
  const auto& v = input ? p->p->inputs(sig) : p->p->outputs(sig);
  NESTOR_CHECK_ARG(i < v.size(), "signature '", sig, "' has ", v.size(), input ? " inputs" : " outputs",
                   ", index ", i, " is out of range");
  return v[i];
}

}  // namespace

extern "C" {

nestor_code nestor_status_code(const nestor_status* s) { return s ? s->code : NESTOR_OK; }
const char* nestor_status_message(const nestor_status* s) { return s ? s->message.c_str() : ""; }
void nestor_status_release(nestor_status* s) {
  if (s != &g_oom) delete s;
}

const char* nestor_dtype_name(nestor_dtype d) {
  if (d < NESTOR_FLOAT32 || d > NESTOR_STRING) return nullptr;
  return nestor::dtype_name(static_cast<nestor::DType>(d));
}

nestor_status* nestor_tensor_create(nestor_dtype dtype, const int64_t* dims, int rank, const void* data,
                                    size_t nbytes, nestor_tensor** out) {
  return guard([&] {
    NESTOR_CHECK_ARG(out != nullptr, "out must not be NULL");
    nestor::DType dt = to_dtype(dtype);
    NESTOR_CHECK_ARG(dt != nestor::DType::kString, "use nestor_tensor_create_strings for string tensors");
    nestor::Dims d = make_dims(dims, rank);
    nestor::Tensor t = nestor::Tensor::empty(dt, d);
    NESTOR_CHECK_ARG(nbytes == t.nbytes(), "a ", nestor::dtype_name(dt), " tensor of shape ", nestor::dims_str(d),
                     " needs ", t.nbytes(), " bytes, got ", nbytes);
    NESTOR_CHECK_ARG(nbytes == 0 || data != nullptr, "data is NULL");
    if (nbytes) std::memcpy(t.raw(), data, nbytes);
    if (dt == nestor::DType::kBool) {
      const unsigned char* b = static_cast<const unsigned char*>(data);
      for (size_t i = 0; i < nbytes; ++i)
        NESTOR_CHECK_ARG(b[i] <= 1, "bool element ", i, " is ", int(b[i]), ", must be 0 or 1");
    }
    *out = new nestor_tensor{std::move(t)};
  });
}

nestor_status* nestor_tensor_create_strings(const int64_t* dims, int rank, const char* const* strs,
                                            const size_t* lens, nestor_tensor** out) {
  return guard([&] {
    NESTOR_CHECK_ARG(out != nullptr, "out must not be NULL");
    nestor::Dims d = make_dims(dims, rank);
    nestor::Tensor t = nestor::Tensor::empty(nestor::DType::kString, d);
    int64_t n = t.num_elements();
    NESTOR_CHECK_ARG(n == 0 || (strs != nullptr && lens != nullptr), "strs and lens must not be NULL");
    std::string* s = t.data<std::string>();
    for (int64_t i = 0; i < n; ++i) {
      NESTOR_CHECK_ARG(strs[i] != nullptr || lens[i] == 0, "string ", i, " is NULL");
      s[i].assign(strs[i] ? strs[i] : "", lens[i]);
    }
    *out = new nestor_tensor{std::move(t)};
  });
}

void nestor_tensor_release(nestor_tensor* t) { delete t; }
nestor_dtype nestor_tensor_dtype(const nestor_tensor* t) { return static_cast<nestor_dtype>(t->t.dtype()); }
int nestor_tensor_rank(const nestor_tensor* t) { return t->t.rank(); }
const int64_t* nestor_tensor_dims(const nestor_tensor* t) { return t->t.dims().data(); }
int64_t nestor_tensor_num_elements(const nestor_tensor* t) { return t->t.num_elements(); }
const void* nestor_tensor_data(const nestor_tensor* t) {
  return t->t.dtype() == nestor::DType::kString ? nullptr : t->t.raw();
}
size_t nestor_tensor_nbytes(const nestor_tensor* t) {
  return t->t.dtype() == nestor::DType::kString ? 0 : t->t.nbytes();
}
const char* nestor_tensor_string_at(const nestor_tensor* t, int64_t i, size_t* len) {
  if (t->t.dtype() != nestor::DType::kString || i < 0 || i >= t->t.num_elements()) return nullptr;
  const std::string& s = t->t.data<std::string>()[i];
  if (len) *len = s.size();
  return s.data();
}

nestor_status* nestor_predictor_load(const char* dir, const nestor_predictor_options* options,
                                     nestor_predictor** out) {
  return guard([&] {
    NESTOR_CHECK_ARG(dir != nullptr && out != nullptr, "dir and out must not be NULL");
    nestor::SessionOptions so;
    if (options) {
      NESTOR_CHECK_ARG(options->struct_size >= offsetof(nestor_predictor_options, intra_op_threads) + sizeof(int),
                       "nestor_predictor_options.struct_size is ", options->struct_size,
                       ": set it to sizeof(nestor_predictor_options)");
      NESTOR_CHECK_ARG(options->intra_op_threads >= 0, "intra_op_threads must be >= 0, got ",
                       options->intra_op_threads);
      so.intra_op_threads = options->intra_op_threads;
    }
    auto p = std::make_unique<nestor_predictor>();
    p->p = nestor::Predictor::load(dir, so);
    p->names = p->p->signature_names();
    *out = p.release();
  });
}

void nestor_predictor_release(nestor_predictor* p) { delete p; }
size_t nestor_predictor_num_signatures(const nestor_predictor* p) { return p ? p->names.size() : 0; }
const char* nestor_predictor_signature_name(const nestor_predictor* p, size_t i) {
  return p && i < p->names.size() ? p->names[i].c_str() : nullptr;
}

nestor_status* nestor_predictor_num_inputs(const nestor_predictor* p, const char* sig, size_t* out) {
  return guard([&] {
    NESTOR_CHECK_ARG(p && sig && out, "arguments must not be NULL");
    *out = p->p->inputs(sig).size();
  });
}
nestor_status* nestor_predictor_num_outputs(const nestor_predictor* p, const char* sig, size_t* out) {
  return guard([&] {
    NESTOR_CHECK_ARG(p && sig && out, "arguments must not be NULL");
    *out = p->p->outputs(sig).size();
  });
}

static nestor_status* spec_out(const nestor_predictor* p, const char* sig, size_t i, bool input, const char** key,
                               nestor_dtype* dtype, int* rank, const int64_t** dims) {
  return guard([&] {
    const auto& s = spec(p, sig, i, input);
    if (key) *key = s.key.c_str();
    if (dtype) *dtype = static_cast<nestor_dtype>(s.dtype);
    if (rank) *rank = s.shape.rank();
    if (dims) *dims = s.shape.dims().data();
  });
}
nestor_status* nestor_predictor_input(const nestor_predictor* p, const char* sig, size_t i, const char** key,
                                      nestor_dtype* dtype, int* rank, const int64_t** dims) {
  return spec_out(p, sig, i, true, key, dtype, rank, dims);
}
nestor_status* nestor_predictor_output(const nestor_predictor* p, const char* sig, size_t i, const char** key,
                                       nestor_dtype* dtype, int* rank, const int64_t** dims) {
  return spec_out(p, sig, i, false, key, dtype, rank, dims);
}

nestor_status* nestor_predictor_run(const nestor_predictor* p, const char* signature, size_t n_inputs,
                                    const char* const* keys, const nestor_tensor* const* inputs, size_t* n_outputs,
                                    char*** out_keys, nestor_tensor*** outputs) {
  return guard([&] {
    NESTOR_CHECK_ARG(p && signature && n_outputs && outputs, "predictor, signature, n_outputs and outputs must not be NULL");
    NESTOR_CHECK_ARG(n_inputs == 0 || (keys && inputs), "keys and inputs must not be NULL");
    std::vector<const nestor::Tensor*> in(n_inputs);
    for (size_t i = 0; i < n_inputs; ++i) {
      NESTOR_CHECK_ARG(keys[i] && inputs[i], "input ", i, " has a NULL key or tensor");
      in[i] = &inputs[i]->t;
    }
    std::vector<nestor::Tensor> got = p->p->run(signature, n_inputs, keys, in.data());
    const size_t n = got.size();
    // Build everything first, hand it out only when complete (nothing leaks on failure).
    nestor_tensor** arr = static_cast<nestor_tensor**>(std::calloc(n ? n : 1, sizeof(nestor_tensor*)));
    char** karr = out_keys ? static_cast<char**>(std::calloc(n ? n : 1, sizeof(char*))) : nullptr;
    bool ok = arr && (!out_keys || karr);
    for (size_t i = 0; ok && i < n; ++i) {
      arr[i] = new (std::nothrow) nestor_tensor{std::move(got[i])};
      ok = arr[i] != nullptr;
    }
    if (ok && karr) {
      const auto& specs = p->p->outputs(signature);
      for (size_t i = 0; ok && i < n; ++i) {
        const std::string& k = specs[i].key;
        karr[i] = static_cast<char*>(std::malloc(k.size() + 1));
        ok = karr[i] != nullptr;
        if (ok) std::memcpy(karr[i], k.c_str(), k.size() + 1);
      }
    }
    if (!ok) {
      if (arr) nestor_outputs_release(n, karr, arr);
      else std::free(karr);
      throw std::bad_alloc();
    }
    *n_outputs = n;
    *outputs = arr;
    if (out_keys) *out_keys = karr;
  });
}

void nestor_outputs_release(size_t n, char** keys, nestor_tensor** outputs) {
  for (size_t i = 0; i < n; ++i) {
    if (keys) std::free(keys[i]);
    if (outputs) delete outputs[i];
  }
  std::free(keys);
  std::free(outputs);
}

}  // extern "C"
