// nestor/predictor.h: load an export directory (Estimator.export_saved_model) and run its
// signatures from C++.
//
// An export holds graph.nstg (validated binary graph), signatures.json and
// variables.safetensors. load() validates all three (every size and offset of the
// safetensors file against the file size, each variable's dtype and shape against the
// graph), sets the variables in one Session and compiles one Plan per signature. A bad
// export fails with Error(kDataLoss) naming the file and the problem. run() is const and
// may be called from many threads at once.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nestor/session.h"

namespace nestor {

class Predictor {
 public:
  struct TensorSpec {
    std::string key;   // the signature's key ("age")
    std::string name;  // the graph tensor ("age:0")
    DType dtype = DType::kInvalid;
    PartialShape shape;
  };

  static std::unique_ptr<Predictor> load(const std::string& dir, SessionOptions options = {});
  ~Predictor();

  std::vector<std::string> signature_names() const;
  const std::string& method_name(const std::string& signature) const;
  const std::vector<TensorSpec>& inputs(const std::string& signature) const;   // sorted by key
  const std::vector<TensorSpec>& outputs(const std::string& signature) const;  // sorted by key

  // Runs `signature`: every input key must be given once, with the spec's dtype and a
  // compatible shape (InvalidArgument naming the key otherwise). Returns key -> tensor.
  std::map<std::string, Tensor> run(const std::string& signature, const std::map<std::string, Tensor>& inputs) const;
  // The same without maps (the C API's form): inputs[i] feeds keys[i], n of each, borrowed for
  // the call; returns the outputs in outputs(signature) order. The same checks and errors,
  // and a key given twice is InvalidArgument.
  std::vector<Tensor> run(const std::string& signature, size_t n, const char* const* keys,
                          const Tensor* const* inputs) const;

  struct Signature;

 private:
  Predictor() = default;
  const Signature& sig(const std::string& name) const;
  std::string dir_;
  std::shared_ptr<Session> session_;
  std::map<std::string, std::unique_ptr<Signature>> sigs_;
};

}  // namespace nestor
