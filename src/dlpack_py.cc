// DLPack glue of nestor._native: translation only (the import/export rules are in
// nestor/dlpack.h). Capsules follow the Python DLPack protocol: "dltensor" (legacy) or
// "dltensor_versioned", renamed "used_..." by the consumer that takes the tensor; the
// capsule's destructor frees a tensor nobody took.
#include "dlpack_py.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <utility>

#include "nestor/backend.h"
#include "nestor/dlpack.h"

namespace nestor_py {

using namespace nestor;

namespace {

constexpr const char* kLegacy = "dltensor";
constexpr const char* kLegacyUsed = "used_dltensor";
constexpr const char* kVersioned = "dltensor_versioned";
constexpr const char* kVersionedUsed = "used_dltensor_versioned";

// A concrete tensor value in Python: what from_dlpack returns and what a session returns
// for fetches kept on the device.
struct DeviceTensor {
  Tensor t;
};

// Frees the managed tensor of a capsule that no consumer took; keeps a pending exception.
template <typename Managed>
void destroy_capsule(PyObject* cap, const char* name, const char* used) {
  if (PyCapsule_IsValid(cap, used)) return;
  PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
  PyErr_Fetch(&type, &value, &tb);
  void* p = PyCapsule_GetPointer(cap, name);
  if (p != nullptr)
    dlpack_delete(static_cast<Managed*>(p));
  else
    PyErr_WriteUnraisable(cap);
  PyErr_Restore(type, value, tb);
}

void destroy_legacy(PyObject* cap) { destroy_capsule<DLManagedTensor>(cap, kLegacy, kLegacyUsed); }
void destroy_versioned(PyObject* cap) { destroy_capsule<DLManagedTensorVersioned>(cap, kVersioned, kVersionedUsed); }

py::capsule export_capsule(const Tensor& t, bool versioned, bool is_copied) {
  if (versioned) {
    DLManagedTensorVersioned* m = to_dlpack_versioned(t, /*read_only=*/false, is_copied);
    PyObject* cap = PyCapsule_New(m, kVersioned, &destroy_versioned);
    if (cap == nullptr) {
      dlpack_delete(m);
      throw py::error_already_set();
    }
    return py::reinterpret_steal<py::capsule>(cap);
  }
  DLManagedTensor* m = to_dlpack(t);
  PyObject* cap = PyCapsule_New(m, kLegacy, &destroy_legacy);
  if (cap == nullptr) {
    dlpack_delete(m);
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::capsule>(cap);
}

Tensor import_capsule(py::handle cap) {
  PyObject* c = cap.ptr();
  if (PyCapsule_IsValid(c, kVersioned)) {
    auto* m = static_cast<DLManagedTensorVersioned*>(PyCapsule_GetPointer(c, kVersioned));
    if (PyCapsule_SetName(c, kVersionedUsed) != 0) throw py::error_already_set();
    return from_dlpack(m);  // owns m from here on, even when it throws
  }
  if (PyCapsule_IsValid(c, kLegacy)) {
    auto* m = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(c, kLegacy));
    if (PyCapsule_SetName(c, kLegacyUsed) != 0) throw py::error_already_set();
    return from_dlpack(m);
  }
  const char* name = PyCapsule_GetName(c);
  PyErr_Clear();
  std::string n = name ? name : "";
  fail(Code::kInvalidArgument, "from_dlpack: expected a capsule named 'dltensor' or 'dltensor_versioned', got '", n,
       "'", n.rfind("used_", 0) == 0 ? " (a DLPack capsule can be consumed only once)" : "");
}

std::pair<int, int> dlpack_device_of(py::handle obj) {
  py::tuple d = obj.attr("__dlpack_device__")();
  return {py::cast<int>(d[0]), py::cast<int>(d[1])};
}

// Calls obj.__dlpack__ as a consumer does: with nestor's stream for CUDA memory (the
// producer orders its pending work before ours), asking for a versioned capsule and
// falling back to the legacy call for producers that do not know max_version.
py::object call_dlpack(py::handle obj) {
  py::object stream = py::none();
  if (py::hasattr(obj, "__dlpack_device__")) {
    auto dd = dlpack_device_of(obj);
    Device d = device_from_dlpack(dd.first, dd.second);
    if (d.type != DeviceType::kCpu) {
      try {
        stream = py::int_(backend_for(d).stream_handle());
      } catch (const Error& e) {
        fail(e.code(), "cannot import a DLPack tensor on ", d.str(), ": ", e.what());
      }
    }
  }
  py::object fn = obj.attr("__dlpack__");
  try {
    return fn(py::arg("stream") = stream, py::arg("max_version") = py::make_tuple(1, 0));
  } catch (py::error_already_set& e) {
    if (!e.matches(PyExc_TypeError)) throw;
  }
  return fn(py::arg("stream") = stream);
}

py::object to_numpy(const Tensor& t) {
  if (t.dtype() == DType::kString) return from_tensor(t);
  Tensor h = t.device().type == DeviceType::kCpu ? t : host_copy(t);
  std::vector<py::ssize_t> shape(h.dims().begin(), h.dims().end());
  auto holder = std::make_unique<std::shared_ptr<Buffer>>(h.buffer());
  py::capsule keep(holder.get(), [](void* p) { delete static_cast<std::shared_ptr<Buffer>*>(p); });
  holder.release();  // owned by `keep`
  return py::array(py::dtype(dtype_name(h.dtype())), shape, h.raw(), keep);
}

py::object dtype_to_py(DType t) { return py::module_::import("nestor.dtypes").attr("as_dtype")(t); }

}  // namespace

bool is_dlpack_source(py::handle obj) {
  return py::isinstance<DeviceTensor>(obj) || PyCapsule_CheckExact(obj.ptr()) ||
         (py::hasattr(obj, "__dlpack__") && py::hasattr(obj, "__dlpack_device__"));
}

Tensor import_dlpack(py::handle obj) {
  if (py::isinstance<DeviceTensor>(obj)) return py::cast<const DeviceTensor&>(obj).t;
  if (PyCapsule_CheckExact(obj.ptr())) return import_capsule(obj);
  if (!py::hasattr(obj, "__dlpack__"))
    fail(Code::kInvalidArgument, "from_dlpack: expected a DLPack capsule or an object with __dlpack__, got ",
         std::string(py::str(py::type::of(obj))));
  py::object cap = call_dlpack(obj);
  if (!PyCapsule_CheckExact(cap.ptr()))
    fail(Code::kInvalidArgument, "from_dlpack: ", std::string(py::str(py::type::of(obj))),
         ".__dlpack__() returned ", std::string(py::str(py::type::of(cap))), ", not a capsule");
  return import_capsule(cap);
}

py::object wrap_fetched(const Tensor& t) {
  if (!t.defined() || t.buffer().use_count() <= 1) return py::cast(DeviceTensor{t});
  Device d = t.device();
  return py::cast(DeviceTensor{d.type == DeviceType::kCpu ? t.clone() : backend_for(d).copy_from(t)});
}

void register_dlpack(py::module_& m) {
  py::class_<DeviceTensor>(m, "DeviceTensor",
                           "A tensor value where nestor holds it (host or GPU memory), exchanged through DLPack.")
      .def_property_readonly("shape", [](const DeviceTensor& s) { return py::tuple(py::cast(s.t.dims())); })
      .def_property_readonly("dtype", [](const DeviceTensor& s) { return dtype_to_py(s.t.dtype()); })
      .def_property_readonly("device", [](const DeviceTensor& s) { return s.t.device().str(); })
      .def_property_readonly("ndim", [](const DeviceTensor& s) { return s.t.rank(); })
      .def("numpy", [](const DeviceTensor& s) { return to_numpy(s.t); })
      .def("__array__",
           [](const DeviceTensor& s, py::object dtype, py::object copy) {
             py::object a = to_numpy(s.t);
             if (!dtype.is_none()) a = a.attr("astype")(dtype, py::arg("copy") = false);
             if (!copy.is_none() && copy.cast<bool>()) a = a.attr("copy")();
             return a;
           },
           py::arg("dtype") = py::none(), py::arg("copy") = py::none())
      .def("__dlpack_device__",
           [](const DeviceTensor& s) {
             auto d = dlpack_device(s.t.device());
             return py::make_tuple(d.first, d.second);
           })
      .def("__dlpack__",
           [](const DeviceTensor& s, py::object stream, py::object max_version, py::object dl_device,
              py::object copy) {
             Tensor t = s.t;
             NESTOR_CHECK_ARG(t.dtype() != DType::kString,
                              "a string tensor cannot be exported through DLPack (DLPack has no string type); "
                              "use .numpy()");
             bool copied = false;
             bool may_copy = copy.is_none() || copy.cast<bool>();
             if (!dl_device.is_none()) {
               py::tuple want = dl_device;
               int type = py::cast<int>(want[0]), id = py::cast<int>(want[1]);
               Device target;
               try {
                 target = device_from_dlpack(type, id);
               } catch (const Error& e) {
                 throw py::buffer_error(e.what());
               }
               if (target != t.device()) {
                 if (!may_copy)
                   throw py::buffer_error(str_cat("tensor is on ", t.device().str(), ", dl_device asks for ",
                                                  target.str(), " and copy=False"));
                 t = copy_to_device(t, target);
                 copied = true;
               }
             }
             if (!copied && !copy.is_none() && copy.cast<bool>()) {
               t = t.device().type == DeviceType::kCpu ? t.clone() : backend_for(t.device()).copy_from(t);
               copied = true;
             }
             if (t.device().type != DeviceType::kCpu) {
               // The DLPack stream protocol: None = the legacy default stream, -1 = the
               // consumer synchronises itself, 0 is ambiguous and refused.
               long long st = stream.is_none() ? 1 : py::cast<long long>(stream);
               if (st == 0) throw py::value_error("__dlpack__: stream 0 is ambiguous for CUDA; pass 1 for the legacy "
                                                  "default stream, 2 for the per-thread default stream");
               if (st != -1) backend_for(t.device()).make_stream_wait(static_cast<uintptr_t>(st));
             }
             bool versioned = false;
             if (!max_version.is_none()) {
               py::tuple mv = max_version;
               versioned = py::cast<int>(mv[0]) >= 1;
             }
             return export_capsule(t, versioned, copied);
           },
           py::arg("stream") = py::none(), py::arg("max_version") = py::none(), py::arg("dl_device") = py::none(),
           py::arg("copy") = py::none())
      .def("__repr__", [](const DeviceTensor& s) {
        return str_cat("<nestor DeviceTensor shape=", dims_str(s.t.dims()), " dtype=", dtype_name(s.t.dtype()),
                       " device=", s.t.device().str(), ">");
      });

  m.def("to_dlpack",
        [](py::handle obj) {
          Tensor t = import_dlpack(obj);
          // A bare capsule carries no stream: the consumer may read the memory at once.
          if (t.device().type != DeviceType::kCpu) backend_for(t.device()).synchronize();
          return export_capsule(t, /*versioned=*/false, /*is_copied=*/false);
        },
        "A legacy 'dltensor' capsule viewing obj (a DeviceTensor or any DLPack producer).");
  m.def("from_dlpack", [](py::handle obj) { return DeviceTensor{import_dlpack(obj)}; },
        "A DeviceTensor viewing a DLPack capsule or producer, without a copy.");
}

}  // namespace nestor_py
