#include "nestor/tensor.h"

#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <vector>
#include <mutex>
#include <string>

namespace nestor {

std::string Device::str() const {
  if (type == DeviceType::kCpu) return "cpu";
  return str_cat("cuda:", index);
}

Device Device::parse(const std::string& spec) {
  std::string s;
  for (char c : spec) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s.rfind("/", 0) == 0) {  // TF style "/device:GPU:0", "/cpu:0"
    auto p = s.rfind("gpu");
    if (p != std::string::npos) s = "cuda" + s.substr(p + 3);
    else s = "cpu";
  }
  if (s.empty() || s == "cpu" || s.rfind("cpu:", 0) == 0) return Device{};
  if (s == "cuda" || s == "gpu") return Device{DeviceType::kCuda, 0};
  if (s.rfind("cuda:", 0) == 0 || s.rfind("gpu:", 0) == 0) {
    std::string idx = s.substr(s.find(':') + 1);
    char* end = nullptr;
    long v = std::strtol(idx.c_str(), &end, 10);
    if (!idx.empty() && end && *end == 0 && v >= 0) return Device{DeviceType::kCuda, static_cast<int>(v)};
  }
  fail(Code::kInvalidArgument, "unknown device '", spec, "': expected 'cpu', 'cuda' or 'cuda:N'");
}

namespace {

constexpr size_t kAlign = 64;

void* aligned_malloc(size_t n) {
  size_t sz = (n + kAlign - 1) / kAlign * kAlign;
  if (sz == 0) sz = kAlign;
  void* p = std::aligned_alloc(kAlign, sz);
  if (p == nullptr) fail(Code::kInternal, "out of memory allocating ", n, " bytes");
  return p;
}

// Caching allocator: freed blocks are kept in per-size free lists and handed out again
// for requests of the same rounded size. Steady-state training allocates nothing new.
class CpuCachingAllocator : public Allocator {
 public:
  // Free lists by rounded size. The pool lives as long as the process (the allocator is
  // a leaked singleton), so a Buffer's release callback can hold a plain pointer to it;
  // with a 16-byte capture the callback needs no heap allocation of its own.
  struct Pool {
    std::mutex mu;
    std::unordered_map<size_t, std::vector<void*>> free;
    size_t cached = 0;
  };

  std::shared_ptr<Buffer> allocate(size_t nbytes) override {
    size_t sz = round(nbytes);
    void* p = nullptr;
    {
      std::lock_guard<std::mutex> l(pool_->mu);
      auto it = pool_->free.find(sz);
      if (it != pool_->free.end() && !it->second.empty()) {
        p = it->second.back();
        it->second.pop_back();
        pool_->cached -= sz;
      }
    }
    if (p == nullptr) p = aligned_malloc(sz);
    Pool* pool = pool_;
    return std::make_shared<Buffer>(p, nbytes, Device{}, [pool, sz](void* d, size_t) {
      std::lock_guard<std::mutex> l(pool->mu);
      if (pool->cached + sz > kMaxCached) {
        std::free(d);
        return;
      }
      pool->free[sz].push_back(d);
      pool->cached += sz;
    });
  }
  Device device() const override { return Device{}; }
  size_t cached_bytes() const override {
    std::lock_guard<std::mutex> l(pool_->mu);
    return pool_->cached;
  }

 private:
  static constexpr size_t kMaxCached = size_t(4) << 30;
  static size_t round(size_t n) {
    if (n <= 256) return 256;
    // 1/8 granularity above 256 bytes keeps waste under 12.5% and sizes reusable.
    size_t p = 1;
    while (p * 2 <= n) p *= 2;
    size_t step = p / 8 < kAlign ? kAlign : p / 8;
    return (n + step - 1) / step * step;
  }
  Pool* pool_ = new Pool();  // never freed: buffers may be released during static destruction
};

}  // namespace

Allocator& cpu_allocator() {
  static CpuCachingAllocator* a = new CpuCachingAllocator();  // never destroyed: outlives statics
  return *a;
}

std::shared_ptr<Buffer> Buffer::strings(int64_t n) {
  auto* s = new std::string[static_cast<size_t>(n > 0 ? n : 0)];
  return std::make_shared<Buffer>(s, static_cast<size_t>(n) * sizeof(std::string), Device{},
                                  [](void* d, size_t) { delete[] static_cast<std::string*>(d); });
}

std::shared_ptr<Buffer> Buffer::heap(size_t nbytes) {
  return std::make_shared<Buffer>(aligned_malloc(nbytes), nbytes, Device{},
                                  [](void* d, size_t) { std::free(d); });
}

bool PartialShape::fully_defined() const {
  if (!known_rank_) return false;
  for (auto d : dims_)
    if (d < 0) return false;
  return true;
}

int64_t PartialShape::num_elements() const {
  if (!fully_defined()) return -1;
  return nestor::num_elements(dims_);
}

bool PartialShape::is_compatible_with(const Dims& c) const {
  if (!known_rank_) return true;
  if (c.size() != dims_.size()) return false;
  for (size_t i = 0; i < c.size(); ++i)
    if (dims_[i] >= 0 && dims_[i] != c[i]) return false;
  return true;
}

bool PartialShape::is_compatible_with(const PartialShape& o) const {
  if (!known_rank_ || !o.known_rank_) return true;
  if (dims_.size() != o.dims_.size()) return false;
  for (size_t i = 0; i < dims_.size(); ++i)
    if (dims_[i] >= 0 && o.dims_[i] >= 0 && dims_[i] != o.dims_[i]) return false;
  return true;
}

PartialShape PartialShape::merge(const PartialShape& o) const {
  if (!known_rank_) return o;
  if (!o.known_rank_) return *this;
  Dims d = dims_;
  for (size_t i = 0; i < d.size() && i < o.dims_.size(); ++i)
    if (d[i] < 0) d[i] = o.dims_[i];
  return PartialShape(d);
}

std::string PartialShape::str() const {
  if (!known_rank_) return "<unknown>";
  std::string s = "(";
  for (size_t i = 0; i < dims_.size(); ++i) {
    if (i) s += ", ";
    s += dims_[i] < 0 ? std::string("?") : std::to_string(dims_[i]);
  }
  if (dims_.size() == 1) s += ",";
  return s + ")";
}

std::string dims_str(const Dims& d) { return PartialShape(d).str(); }

int64_t num_elements(const Dims& d) {
  int64_t n = 1;
  for (auto v : d) n *= v;
  return n;
}

Tensor Tensor::empty(DType dtype, const Dims& dims, Allocator& alloc) {
  for (auto d : dims)
    if (d < 0) fail(Code::kInvalidArgument, "cannot allocate a tensor of shape ", dims_str(dims));
  int64_t n = nestor::num_elements(dims);
  if (dtype == DType::kString) return Tensor(dtype, dims, Buffer::strings(n));
  return Tensor(dtype, dims, alloc.allocate(static_cast<size_t>(n) * dtype_size(dtype)));
}

Tensor Tensor::zeros(DType dtype, const Dims& dims, Allocator& alloc) {
  Tensor t = empty(dtype, dims, alloc);
  if (dtype != DType::kString && t.nbytes()) std::memset(t.raw(), 0, t.nbytes());
  return t;
}

Tensor Tensor::reshaped(Dims dims) const {
  if (nestor::num_elements(dims) != num_elements())
    fail(Code::kInvalidArgument, "cannot reshape a tensor of shape ", dims_str(dims_), " (",
         num_elements(), " elements) to ", dims_str(dims));
  return Tensor(dtype_, std::move(dims), buffer_, offset_);
}

Tensor Tensor::slice_rows(int64_t begin, int64_t end) const {
  NESTOR_CHECK_ARG(rank() >= 1 && begin >= 0 && end <= dims_[0] && begin <= end,
                   "slice_rows [", begin, ", ", end, ") out of range for shape ", dims_str(dims_));
  Dims d = dims_;
  d[0] = end - begin;
  size_t row = static_cast<size_t>(nestor::num_elements(dims_) / (dims_[0] ? dims_[0] : 1)) * dtype_size(dtype_);
  return Tensor(dtype_, d, buffer_, offset_ + static_cast<size_t>(begin) * row);
}

Tensor Tensor::clone(Allocator& alloc) const {
  Tensor t = empty(dtype_, dims_, alloc);
  if (dtype_ == DType::kString) {
    const std::string* s = data<std::string>();
    std::string* d = t.data<std::string>();
    for (int64_t i = 0; i < num_elements(); ++i) d[i] = s[i];
  } else if (nbytes()) {
    std::memcpy(t.raw(), raw(), nbytes());
  }
  return t;
}

int64_t Tensor::scalar_as_int(int64_t i) const {
  switch (dtype_) {
    case DType::kInt32: return data<int32_t>()[i];
    case DType::kInt64: return data<int64_t>()[i];
    case DType::kFloat32: return static_cast<int64_t>(data<float>()[i]);
    case DType::kFloat64: return static_cast<int64_t>(data<double>()[i]);
    case DType::kBool: return data<bool>()[i];
    default: fail(Code::kInvalidArgument, "expected a numeric tensor, got ", dtype_name(dtype_));
  }
}

double Tensor::scalar_as_double(int64_t i) const {
  switch (dtype_) {
    case DType::kInt32: return data<int32_t>()[i];
    case DType::kInt64: return static_cast<double>(data<int64_t>()[i]);
    case DType::kFloat32: return data<float>()[i];
    case DType::kFloat64: return data<double>()[i];
    case DType::kBool: return data<bool>()[i];
    default: fail(Code::kInvalidArgument, "expected a numeric tensor, got ", dtype_name(dtype_));
  }
}

std::vector<int64_t> Tensor::to_int_vector() const {
  NESTOR_CHECK_ARG(rank() <= 1 && is_integer(dtype_), "expected a scalar or 1-D int32/int64 tensor, got ",
                   dtype_name(dtype_), " of shape ", dims_str(dims_));
  std::vector<int64_t> v(static_cast<size_t>(num_elements()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = scalar_as_int(static_cast<int64_t>(i));
  return v;
}

}  // namespace nestor
