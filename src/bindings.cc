// nestor._native: translation only. numpy arrays become Tensors without copies where
// the layout allows (C-contiguous, supported dtype); fetched tensors become numpy arrays
// that own their buffer unless the buffer is shared (variables, constants), in which
// case they are copied. run() releases the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>

#include "dlpack_py.h"
#include "nestor/backend.h"
#include "nestor/crc32c.h"
#include "nestor/graph.h"
#include "nestor/host_callback.h"
#include "nestor/op.h"
#include "nestor/session.h"

namespace py = pybind11;
using namespace nestor;

namespace {

DType dtype_of(const py::dtype& dt) {
  switch (dt.kind()) {
    case 'f':
      if (dt.itemsize() == 4) return DType::kFloat32;
      if (dt.itemsize() == 8) return DType::kFloat64;
      break;
    case 'i':
      if (dt.itemsize() == 4) return DType::kInt32;
      if (dt.itemsize() == 8) return DType::kInt64;
      break;
    case 'b': return DType::kBool;
    case 'O': case 'U': case 'S': return DType::kString;
    default: break;
  }
  fail(Code::kInvalidArgument, "unsupported numpy dtype ", std::string(py::str(dt)),
       ": expected float32, float64, int32, int64, bool or strings");
}

py::dtype np_dtype(DType t) {
  switch (t) {
    case DType::kFloat32: return py::dtype::of<float>();
    case DType::kFloat64: return py::dtype::of<double>();
    case DType::kInt32: return py::dtype::of<int32_t>();
    case DType::kInt64: return py::dtype::of<int64_t>();
    case DType::kBool: return py::dtype::of<bool>();
    default: return py::dtype("O");
  }
}

std::string to_std_string(py::handle o) {
  if (PyBytes_Check(o.ptr())) return std::string(py::reinterpret_borrow<py::bytes>(o));
  if (PyUnicode_Check(o.ptr())) return py::cast<std::string>(o);
  return py::cast<std::string>(py::str(o));
}

// numpy -> Tensor. Shares memory for C-contiguous numeric arrays: the Buffer keeps a
// reference to the array and drops it under the GIL. Other DLPack producers (torch,
// cupy, DeviceTensor) are imported through DLPack, also without a copy (dlpack_py.h).
Tensor to_tensor(py::handle obj) {
  if (!py::isinstance<py::array>(obj) && nestor_py::is_dlpack_source(obj)) return nestor_py::import_dlpack(obj);
  py::array arr = py::array::ensure(obj);
  if (!arr) fail(Code::kInvalidArgument, "cannot convert ", std::string(py::str(py::type::of(obj))), " to a tensor");
  DType dt = dtype_of(arr.dtype());
  Dims dims(arr.shape(), arr.shape() + arr.ndim());
  if (dt == DType::kString) {
    Tensor t = Tensor::empty(DType::kString, dims);
    std::string* d = t.data<std::string>();
    if (arr.dtype().kind() == 'O') {  // read the PyObject* cells directly
      py::array c = py::array::ensure(arr, py::array::c_style);
      auto* cells = static_cast<PyObject* const*>(c.data());
      for (py::ssize_t i = 0; i < c.size(); ++i) {
        PyObject* o = cells[i];
        if (PyUnicode_Check(o)) {
          Py_ssize_t n = 0;
          const char* u = PyUnicode_AsUTF8AndSize(o, &n);
          if (u == nullptr) throw py::error_already_set();
          d[i].assign(u, static_cast<size_t>(n));
        } else if (PyBytes_Check(o)) {
          d[i].assign(PyBytes_AS_STRING(o), static_cast<size_t>(PyBytes_GET_SIZE(o)));
        } else if (o == Py_None) {
          d[i].clear();  // missing
        } else {
          d[i] = to_std_string(o);
        }
      }
    } else {
      py::array flat = py::array(arr.attr("ravel")());
      for (py::ssize_t i = 0; i < flat.size(); ++i) d[i] = to_std_string(flat.attr("__getitem__")(i));
    }
    return t;
  }
  py::array c = py::array::ensure(arr, py::array::c_style);
  size_t nbytes = static_cast<size_t>(c.nbytes());
  auto* keep = new py::object(c);
  auto buf = std::make_shared<Buffer>(const_cast<void*>(c.data()), nbytes, Device{}, [keep](void*, size_t) {
    py::gil_scoped_acquire g;
    delete keep;
  });
  return Tensor(dt, dims, buf);
}

}  // namespace

py::object nestor_py::from_tensor(const Tensor& t) {
  std::vector<py::ssize_t> shape(t.dims().begin(), t.dims().end());
  if (t.dtype() == DType::kString) {
    py::array out(py::dtype("O"), shape);
    py::array flat = py::array(out.attr("reshape")(-1));
    const std::string* s = t.data<std::string>();
    auto** p = static_cast<PyObject**>(flat.mutable_data());
    for (int64_t i = 0; i < t.num_elements(); ++i) {
      PyObject* b = PyBytes_FromStringAndSize(s[i].data(), static_cast<py::ssize_t>(s[i].size()));
      Py_XDECREF(p[i]);
      p[i] = b;
    }
    return std::move(out);
  }
  if (t.device().type != DeviceType::kCpu) return from_tensor(host_copy(t));  // a fed device tensor fetched back
  if (t.buffer().use_count() > 1) {
    py::array out(np_dtype(t.dtype()), shape);
    if (t.nbytes()) std::memcpy(out.mutable_data(), t.raw(), t.nbytes());
    return std::move(out);
  }
  auto* holder = new std::shared_ptr<Buffer>(t.buffer());
  py::capsule cap(holder, [](void* p) { delete static_cast<std::shared_ptr<Buffer>*>(p); });
  return py::array(np_dtype(t.dtype()), shape, t.raw(), cap);
}

namespace {
using nestor_py::from_tensor;

AttrValue to_attr(py::handle v) {
  if (py::isinstance<py::bool_>(v)) return v.cast<bool>();
  if (py::isinstance<py::int_>(v)) return v.cast<int64_t>();
  if (py::isinstance<py::float_>(v)) return v.cast<double>();
  if (py::isinstance<py::str>(v) || py::isinstance<py::bytes>(v)) return to_std_string(v);
  if (py::isinstance<DType>(v)) return v.cast<DType>();
  if (py::isinstance<PartialShape>(v)) return v.cast<PartialShape>();
  if (py::isinstance<py::array>(v)) return to_tensor(v).clone();
  if (py::isinstance<py::list>(v) || py::isinstance<py::tuple>(v)) {
    py::sequence s = py::reinterpret_borrow<py::sequence>(v);
    bool all_int = true, all_num = true, all_str = true;
    for (auto e : s) {
      bool is_int = py::isinstance<py::int_>(e) && !py::isinstance<py::bool_>(e);
      all_int = all_int && is_int;
      all_num = all_num && (is_int || py::isinstance<py::float_>(e));
      all_str = all_str && (py::isinstance<py::str>(e) || py::isinstance<py::bytes>(e));
    }
    if (all_int) return s.cast<std::vector<int64_t>>();
    if (all_num) return s.cast<std::vector<double>>();
    if (all_str) {
      std::vector<std::string> r;
      for (auto e : s) r.push_back(to_std_string(e));
      return r;
    }
  }
  fail(Code::kInvalidArgument, "unsupported attribute value ", std::string(py::repr(v)));
}

py::object from_attr(const AttrValue& v) {
  return std::visit(
      [](const auto& x) -> py::object {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Tensor>) return from_tensor(x.clone());
        else if constexpr (std::is_same_v<T, std::string>) return py::bytes(x);
        else return py::cast(x);
      },
      v);
}

std::vector<Output> outputs_of(const std::vector<std::pair<int, int>>& v) {
  std::vector<Output> r;
  r.reserve(v.size());
  for (auto& p : v) r.push_back(Output{p.first, p.second});
  return r;
}

py::object shape_to_py(const PartialShape& s) {
  if (!s.known_rank()) return py::none();
  py::list l;
  for (auto d : s.dims()) l.append(d < 0 ? py::object(py::none()) : py::object(py::int_(d)));
  return std::move(l);
}

std::vector<Tensor> to_tensors(const py::sequence& arrays) {
  std::vector<Tensor> v;
  v.reserve(arrays.size());
  for (auto a : arrays) v.push_back(to_tensor(a));
  return v;
}

// One run of a compiled plan, the GIL released while it runs.
std::vector<Tensor> run_plan(Session& s, const Plan& plan, const py::sequence& feeds) {
  std::vector<Tensor> in = to_tensors(feeds);
  py::gil_scoped_release nogil;
  return s.run(plan, in);
}

py::list to_list(const std::vector<Tensor>& ts) {
  py::list l;
  for (auto& t : ts) l.append(from_tensor(t));
  return l;
}

py::list to_device_tensors(const std::vector<Tensor>& ts) {
  py::list l;
  for (auto& t : ts) l.append(nestor_py::wrap_fetched(t));
  return l;
}

}  // namespace

// tf.py_function: a host_callback node calls nestor.ops.script_ops._call(token, node name,
// inputs), looked up under the GIL at each call, so no Python object outlives the interpreter.
// Python exceptions become errors with TensorFlow's codes for its py_func.
std::vector<Tensor> call_python(int64_t token, const std::string& node, const std::vector<Tensor>& inputs) {
  std::vector<Tensor> outs;
  Code code = Code::kOk;
  std::string message;
  {
    py::gil_scoped_acquire gil;
    try {
      py::list args;
      for (const Tensor& t : inputs) args.append(from_tensor(t));
      py::object r = py::module_::import("nestor.ops.script_ops").attr("_call")(token, node, args);
      for (py::handle o : r) outs.push_back(to_tensor(o));
    } catch (py::error_already_set& e) {
      code = e.matches(PyExc_ValueError) || e.matches(PyExc_TypeError)   ? Code::kInvalidArgument
             : e.matches(PyExc_StopIteration) || e.matches(PyExc_IndexError) ? Code::kOutOfRange
             : e.matches(PyExc_MemoryError)                                ? Code::kResourceExhausted
             : e.matches(PyExc_NotImplementedError)                        ? Code::kUnimplemented
                                                                           : Code::kUnknown;
      message = e.what();
    } catch (const Error& e) {
      code = e.code();
      message = e.what();
    }
  }
  if (code != Code::kOk) fail(code, "op '", node, "' (host_callback): ", message);
  return outs;
}

PYBIND11_MODULE(_native, m) {
  m.doc() = "nestor native runtime";

  static py::object errors_module;
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      py::object errors = py::module_::import("nestor.errors");
      py::object cls = errors.attr("exception_type_from_error_code")(static_cast<int>(e.code()));
      py::object exc = cls(py::none(), py::none(), e.what());
      PyErr_SetObject(cls.ptr(), exc.ptr());
    }
  });

  set_host_callback(call_python);

  py::enum_<DType>(m, "DType")
      .value("float32", DType::kFloat32)
      .value("float64", DType::kFloat64)
      .value("int32", DType::kInt32)
      .value("int64", DType::kInt64)
      .value("bool", DType::kBool)
      .value("string", DType::kString);

  py::class_<PartialShape>(m, "PartialShape")
      .def(py::init([](py::object dims) {
        if (dims.is_none()) return PartialShape();
        Dims d;
        for (auto e : dims) d.push_back(e.is_none() ? -1 : e.cast<int64_t>());
        return PartialShape(d);
      }))
      .def("dims", [](const PartialShape& s) { return shape_to_py(s); });

  py::class_<Graph, std::shared_ptr<Graph>>(m, "Graph")
      .def(py::init<>())
      .def("add_node",
           [](Graph& g, const std::string& op, const std::vector<std::pair<int, int>>& inputs, const py::dict& attrs,
              const std::string& name, const std::vector<int>& control, const std::string& device) {
             Attrs a;
             for (auto kv : attrs) a.set(py::cast<std::string>(kv.first), to_attr(kv.second));
             return g.add_node(op, outputs_of(inputs), std::move(a), name, control, device);
           },
           py::arg("op"), py::arg("inputs"), py::arg("attrs"), py::arg("name") = "",
           py::arg("control_inputs") = std::vector<int>{}, py::arg("device") = "")
      .def("num_nodes", &Graph::num_nodes)
      .def("find", &Graph::find)
      .def("unique_name", &Graph::unique_name)
      .def("node_name", [](const Graph& g, int id) { return g.node(id).name; })
      .def("node_op", [](const Graph& g, int id) { return g.node(id).op; })
      .def("node_device", [](const Graph& g, int id) { return g.node(id).device; })
      .def("num_outputs", [](const Graph& g, int id) { return g.node(id).num_outputs(); })
      .def("node_inputs", [](const Graph& g, int id) {
        std::vector<std::pair<int, int>> v;
        for (auto& o : g.node(id).inputs) v.emplace_back(o.node, o.index);
        return v;
      })
      .def("node_control_inputs", [](const Graph& g, int id) { return g.node(id).control_inputs; })
      .def("node_attrs", [](const Graph& g, int id) {
        py::dict d;
        for (auto& kv : g.node(id).attrs.items()) d[py::str(kv.first)] = from_attr(kv.second);
        return d;
      })
      .def("output_dtype", [](const Graph& g, int id, int i) { return g.dtype(Output{id, i}); })
      .def("output_shape", [](const Graph& g, int id, int i) { return shape_to_py(g.shape(Output{id, i})); })
      .def("refine_shape", [](Graph& g, int id, int i, const PartialShape& s) { g.refine_shape(Output{id, i}, s); })
      .def("constant_value", [](const Graph& g, int id, int i) -> py::object {
        const Tensor* t = g.constant_value(Output{id, i});
        if (t == nullptr) return py::none();
        return from_tensor(t->clone());
      })
      .def("serialize", [](const Graph& g) { return py::bytes(g.serialize()); })
      .def_static("deserialize", [](const py::bytes& b) { return Graph::deserialize(std::string(b)); })
      .def("gradients",
           [](Graph& g, const std::vector<std::pair<int, int>>& ys, const std::vector<std::pair<int, int>>& xs,
              const std::vector<std::pair<int, int>>& grad_ys, const std::string& scope,
              const std::vector<std::pair<int, int>>& stop) {
             std::vector<Output> gy;
             for (auto& p : grad_ys) gy.push_back(Output{p.first, p.second});
             auto res = gradients(g, outputs_of(ys), outputs_of(xs), gy, scope, outputs_of(stop));
             py::list out;
             for (auto& r : res) {
               if (!r.valid()) out.append(py::none());
               else if (!r.is_sparse()) out.append(py::make_tuple("dense", py::make_tuple(r.dense.node, r.dense.index)));
               else
                 out.append(py::make_tuple("sparse", py::make_tuple(r.indices.node, r.indices.index),
                                           py::make_tuple(r.values.node, r.values.index),
                                           py::make_tuple(r.dense_shape.node, r.dense_shape.index)));
             }
             return out;
           },
           py::arg("ys"), py::arg("xs"), py::arg("grad_ys"), py::arg("scope") = "gradients",
           py::arg("stop") = std::vector<std::pair<int, int>>{});

  py::class_<Plan, std::shared_ptr<Plan>>(m, "Plan");

  py::class_<Session, std::shared_ptr<Session>>(m, "Session")
      .def(py::init([](std::shared_ptr<Graph> g, const std::string& device, int threads, bool fuse,
                       bool constant_variables) {
             SessionOptions o;
             o.device = device;
             o.intra_op_threads = threads;
             o.fuse_kernels = fuse;
             o.constant_variables = constant_variables;
             return std::make_shared<Session>(std::move(g), o);
           }),
           py::arg("graph"), py::arg("device") = "cpu", py::arg("intra_op_threads") = 0,
           py::arg("fuse_kernels") = true, py::arg("constant_variables") = false)
      .def("compile",
           [](Session& s, const std::vector<std::pair<int, int>>& feeds, const std::vector<std::pair<int, int>>& fetches,
              const std::vector<int>& targets, bool fetches_on_device) {
             return s.compile(outputs_of(feeds), outputs_of(fetches), targets, fetches_on_device);
           },
           py::arg("feeds"), py::arg("fetches"), py::arg("targets"), py::arg("fetches_on_device") = false)
      // Like run, but the fetches come back as DeviceTensors where they were computed (a
      // plan compiled with fetches_on_device leaves them on the GPU).
      .def("run_device",
           [](Session& s, const Plan& plan, const py::sequence& feeds) {
             return to_device_tensors(run_plan(s, plan, feeds));
           })
      .def("run",
           [](Session& s, const Plan& plan, const py::sequence& feeds) { return to_list(run_plan(s, plan, feeds)); })
      .def("run_steps",
           [](Session& s, const Plan& plan, const py::sequence& feeds, int64_t steps) {
             std::vector<Tensor> in = to_tensors(feeds);
             std::vector<Tensor> out;
             {
               py::gil_scoped_release nogil;
               out = s.run_steps(plan, in, steps);
             }
             return to_list(out);
           })
      .def("variable_names", &Session::variable_names)
      .def("is_initialized", [](Session& s, const std::string& name) {
        Variable* v = s.find_variable(name);
        return v != nullptr && v->initialized;
      })
      .def("get_variable", [](Session& s, const std::string& name) {
        Variable* v = s.find_variable(name);
        if (v == nullptr) fail(Code::kNotFound, "variable '", name, "' does not exist in this session");
        std::lock_guard<std::mutex> l(v->mu);
        if (!v->initialized) fail(Code::kFailedPrecondition, "Attempting to use uninitialized value ", name);
        return from_tensor(host_copy(v->value));  // a host copy, wherever the variable lives
      })
      .def("set_variable", [](Session& s, const std::string& name, py::handle value) {
        s.set_variable(name, to_tensor(value));
      })
      .def("set_profiling", &Session::set_profiling)
      .def("profile", &Session::profile)
      .def("declare_variable", [](Session& s, const std::string& name, DType dt, const PartialShape& shape) {
        s.variable(name, dt, shape);
      });

  nestor_py::register_dlpack(m);

  m.def("op_names", [] { return OpRegistry::global().names(); });
  // "cpu" or "cuda": how many devices of the type are usable (loads the device plugin once).
  m.def("device_count", [](const std::string& type) { return device_count(Device::parse(type).type); });
  m.def("device_unavailable_reason",
        [](const std::string& type) { return plugin_load_error(Device::parse(type).type); });
  m.def("set_allow_tf32", &set_allow_tf32);
  m.def("allow_tf32", &allow_tf32);
  m.def("registry_self_test", [] { return OpRegistry::global().self_test(); });
  m.def("default_num_threads", &default_num_threads);
  m.def("cpu_cached_bytes", [] { return cpu_allocator().cached_bytes(); });
  m.def("crc32c", [](const py::bytes& b) {
    std::string_view v(b);
    return crc32c(v.data(), v.size());
  });
  m.def("masked_crc32c", [](const py::bytes& b) {
    std::string_view v(b);
    return masked_crc32c(v.data(), v.size());
  });
}
