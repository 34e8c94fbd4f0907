// nestor/tensor.h: devices, buffers, shapes and tensors.
//
// Ownership: a Buffer owns bytes on one device and releases them through the
// callback given at construction (to an allocator's cache, to numpy, ...). A Tensor
// is a value-type view (dtype, dims, byte offset) holding a shared_ptr to its Buffer,
// so copying a Tensor never copies data. Variables alias their Buffer into every
// step that reads them; kernels that update in place write into that Buffer.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nestor/dtype.h"
#include "nestor/error.h"

namespace nestor {

using Dims = std::vector<int64_t>;

enum class DeviceType : uint8_t { kCpu = 0, kCuda = 1 };

struct Device {
  DeviceType type = DeviceType::kCpu;
  int index = 0;
  std::string str() const;                       // "cpu", "cuda:0"
  static Device parse(const std::string& spec);  // "cpu", "cuda", "cuda:1"
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

class Buffer {
 public:
  using Release = std::function<void(void* data, size_t nbytes)>;
  Buffer(void* data, size_t nbytes, Device device, Release release)
      : data_(data), nbytes_(nbytes), device_(device), release_(std::move(release)) {}
  ~Buffer() {
    if (release_) release_(data_, nbytes_);
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

  // A CPU buffer of n default-constructed std::string objects.
  static std::shared_ptr<Buffer> strings(int64_t n);
  // A plain heap buffer (64-byte aligned), no caching. For tests and one-off values.
  static std::shared_ptr<Buffer> heap(size_t nbytes);

 private:
  void* data_;
  size_t nbytes_;
  Device device_;
  Release release_;
};

// Allocates device buffers. Implementations cache freed blocks; a Buffer returned
// here may outlive the allocator object (the cache is reference counted).
class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual std::shared_ptr<Buffer> allocate(size_t nbytes) = 0;
  virtual Device device() const = 0;
  virtual size_t cached_bytes() const { return 0; }
};

// The process-wide caching CPU allocator.
Allocator& cpu_allocator();

// A shape known at graph-build time: unknown rank, or a rank with -1 for unknown dims.
class PartialShape {
 public:
  PartialShape() = default;  // unknown rank
  explicit PartialShape(Dims dims) : known_rank_(true), dims_(std::move(dims)) {}
  static PartialShape unknown() { return PartialShape(); }
  static PartialShape unknown_of_rank(int rank) { return PartialShape(Dims(rank, -1)); }
  static PartialShape scalar() { return PartialShape(Dims{}); }

  bool known_rank() const { return known_rank_; }
  int rank() const { return known_rank_ ? static_cast<int>(dims_.size()) : -1; }
  int64_t dim(int i) const { return dims_.at(i); }
  const Dims& dims() const { return dims_; }
  bool fully_defined() const;
  int64_t num_elements() const;  // -1 if not fully defined
  bool is_compatible_with(const Dims& concrete) const;
  bool is_compatible_with(const PartialShape& other) const;
  PartialShape merge(const PartialShape& other) const;  // most specific compatible shape
  std::string str() const;                              // "(?, 3)" / "<unknown>"
  bool operator==(const PartialShape& o) const {
    return known_rank_ == o.known_rank_ && dims_ == o.dims_;
  }

 private:
  bool known_rank_ = false;
  Dims dims_;
};

std::string dims_str(const Dims& d);  // "(2, 3)"
int64_t num_elements(const Dims& d);

class Tensor {
 public:
  Tensor() = default;
  Tensor(DType dtype, Dims dims, std::shared_ptr<Buffer> buffer, size_t offset = 0)
      : dtype_(dtype), dims_(std::move(dims)), buffer_(std::move(buffer)), offset_(offset) {}

  // A new tensor from `alloc` (strings always on the CPU heap).
  static Tensor empty(DType dtype, const Dims& dims, Allocator& alloc = cpu_allocator());
  static Tensor zeros(DType dtype, const Dims& dims, Allocator& alloc = cpu_allocator());
  template <typename T>
  static Tensor scalar(T v) {
    Tensor t = empty(DTypeOf<T>::value, {});
    *t.data<T>() = v;
    return t;
  }
  template <typename T>
  static Tensor vector(const std::vector<T>& v) {
    Tensor t = empty(DTypeOf<T>::value, {static_cast<int64_t>(v.size())});
    for (size_t i = 0; i < v.size(); ++i) t.data<T>()[i] = v[i];
    return t;
  }

  bool defined() const { return buffer_ != nullptr; }
  DType dtype() const { return dtype_; }
  const Dims& dims() const { return dims_; }
  int rank() const { return static_cast<int>(dims_.size()); }
  int64_t dim(int i) const { return dims_[i]; }
  int64_t num_elements() const { return nestor::num_elements(dims_); }
  size_t nbytes() const { return static_cast<size_t>(num_elements()) * dtype_size(dtype_); }
  Device device() const { return buffer_ ? buffer_->device() : Device{}; }
  const std::shared_ptr<Buffer>& buffer() const { return buffer_; }
  size_t offset() const { return offset_; }

  void* raw() const { return static_cast<char*>(buffer_->data()) + offset_; }
  template <typename T>
  T* data() const {
    return reinterpret_cast<T*>(raw());
  }
  // Same buffer, new dims (element counts must agree).
  Tensor reshaped(Dims dims) const;
  // Rows [begin, end) of the leading dimension, sharing the buffer.
  Tensor slice_rows(int64_t begin, int64_t end) const;
  // A deep copy into a fresh buffer.
  Tensor clone(Allocator& alloc = cpu_allocator()) const;
  // Scalar or single element as int64 / double (numeric dtypes).
  int64_t scalar_as_int(int64_t i = 0) const;
  double scalar_as_double(int64_t i = 0) const;
  std::vector<int64_t> to_int_vector() const;  // 1-D int32/int64 tensor

 private:
  DType dtype_ = DType::kInvalid;
  Dims dims_;
  std::shared_ptr<Buffer> buffer_;
  size_t offset_ = 0;
};

}  // namespace nestor
