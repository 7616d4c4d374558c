// fastvfx._C: loading it registers the ops (torch.ops.fastvfx.*); the Python
// functions here report how the library was built and which kernels run.
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <torch/csrc/autograd/python_variable.h>
#include <torch/csrc/utils/pybind.h>

#include <optional>
#include <string>
#include <vector>

#include "cpu/causal_dwconv3d_kernel.h"
#include "cpu/large_outputs.h"
#include "cpu/plan_calls.h"
#include "cpu/pointwise.h"
#include "threading.h"
#include "fastvfx/isa.h"
#include "fastvfx/layout.h"
#include "fastvfx/pointwise_conv.h"
#include "fastvfx/version.h"
#if FASTVFX_WITH_CUDA
#include "fastvfx/cuda.h"
#endif

namespace py = pybind11;

namespace fastvfx::ops {
void def_temporal_shift_eager(py::module_& m);  // temporal_shift.cpp
void def_causal_dwconv3d_eager(py::module_& m);  // causal_dwconv3d.cpp
}

namespace {

std::vector<std::string> isas_where(bool (*pred)(fastvfx::Isa)) {
  std::vector<std::string> names;
  for (int i = 0; i < fastvfx::kIsaCount; ++i) {
    const auto isa = static_cast<fastvfx::Isa>(i);
    if (pred(isa)) names.emplace_back(fastvfx::isa_name(isa));
  }
  return names;
}

void set_isa(const std::string& name) {
  fastvfx::Isa isa;
  if (!fastvfx::isa_from_name(name.c_str(), &isa)) {
    throw py::value_error("unknown ISA '" + name + "' (expected one of scalar, avx2, avx512, neon)");
  }
  if (!fastvfx::set_active_isa(isa)) {
    throw py::value_error("ISA '" + name + "' is not " +
                          (fastvfx::isa_compiled(isa) ? "supported by this CPU"
                                                      : "compiled into this build"));
  }
}

// fastvfx.ops.fused_conv2d.pack_weight(..., winograd=2 or 4): a float32 CPU
// (C_out, C_in, 3, 3) weight transformed and packed (cpu/pointwise.h).
at::Tensor pack_winograd(const at::Tensor& w, int64_t tile) {
  TORCH_CHECK(tile == 2 || tile == 4, "fastvfx._C._pack_winograd: tile must be 2 or 4, got ", tile);
  TORCH_CHECK(w.dim() == 4 && w.size(2) == 3 && w.size(3) == 3 && w.scalar_type() == at::kFloat &&
                  w.device().is_cpu(),
              "fastvfx._C._pack_winograd: expected a float32 CPU weight (C_out, C_in, 3, 3), got ", w.sizes(), " ",
              w.scalar_type());
  return fastvfx::ops::pack_winograd(w, tile);
}

// The 2x2 space-to-depth of x (N, C, H, W), H and W even: (N, 4C, H/2, W/2)
// channels_last, channel 2pC + 2c + q of pixel (a, b) = x[:, c, 2a + p,
// 2b + q]; a float32 NCHW x through the core's transposes (SqueezeTime's
// stride-2 stem as a stride-1 conv), anything else as torch's view, permute
// and copy. Inference glue, not a dispatcher op: no autograd.
at::Tensor space_to_depth2(const at::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(2) % 2 == 0 && x.size(3) % 2 == 0,
              "fastvfx._C._space_to_depth2: expected x (N, C, H, W) with H and W even, got ", x.sizes());
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  if (x.scalar_type() != at::kFloat || !x.device().is_cpu() || !x.is_contiguous() || x.requires_grad()) {
    return x.view({n, c, h / 2, 2, w / 2, 2})
        .permute({0, 3, 1, 5, 2, 4})
        .reshape({n, 4 * c, h / 2, w / 2})
        .contiguous(at::MemoryFormat::ChannelsLast);
  }
  at::Tensor y = at::empty({n, 4 * c, h / 2, w / 2}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
  fastvfx::nchw_space_to_depth2_nhwc_f32(x.const_data_ptr<float>(), y.mutable_data_ptr<float>(), n, c, h, w);
  return y;
}

// The mean over H and W of a float32 CPU channels_last 4-D tensor, (N, C, 1,
// 1) channels_last: the core's row sum (the models' classifier pools); anything
// else as torch's mean. Inference glue, not a dispatcher op: no autograd.
at::Tensor channels_last_mean(const at::Tensor& x) {
  if (x.dim() != 4 || x.scalar_type() != at::kFloat || !x.device().is_cpu() ||
      !x.is_contiguous(at::MemoryFormat::ChannelsLast) || x.requires_grad() || x.size(2) * x.size(3) == 0) {
    return x.mean({2, 3}, /*keepdim=*/true).contiguous(at::MemoryFormat::ChannelsLast);
  }
  const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
  at::Tensor y = at::empty({n, c, 1, 1}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
  fastvfx::nhwc_row_sum_f32(x.const_data_ptr<float>(), y.mutable_data_ptr<float>(), n, hw, c,
                            1.f / static_cast<float>(hw));
  return y;
}

// A module tree's stamp (fastvfx.nn._batchnorm._TreeStamp): the contents
// of some dicts (each key and value, by identity and in order: the modules'
// parameters, buffers and submodules), some single dict entries (flags kept
// in a module's __dict__ beside other attributes) and each tensor's version
// and data pointer, checked in one C++ pass. The check runs once a model
// call, after the call's other work has pushed the tree's objects out of the
// caches: MobileNetV2-TSM's (777 entries, 314 tensors) took 365 us there as
// three Python map passes (70 us warm), 90 with each entry looked up in C++
// and 80 walking each dict's items in order instead (python
// bench/tree_stamp.py, one thread).
//
// It holds no reference: the Python stamp that owns it keeps every object
// it compares alive (its lists, which the garbage collector sees: the stamp
// sits in a module's __dict__ it also checks, a cycle that C++ references
// would hide from the collector and leak with the model's weights).
class TreeStamp {
 public:
  TreeStamp(const py::list& dicts, const py::list& holders, const py::list& keys,
            const std::vector<at::Tensor>& tensors) {
    for (const py::handle d : dicts) {
      if (!PyDict_Check(d.ptr())) throw py::type_error("TreeStamp: dicts holds a non-dict");
      const size_t begin = items_.size();
      Py_ssize_t pos = 0;
      PyObject *key, *value;
      while (PyDict_Next(d.ptr(), &pos, &key, &value)) items_.push_back({key, value});
      dicts_.push_back({d.ptr(), begin, items_.size() - begin});
    }
    if (keys.size() != holders.size()) throw py::value_error("TreeStamp: holders and keys differ in length");
    for (size_t i = 0; i < holders.size(); ++i) {
      PyObject* holder = holders[i].ptr();
      PyObject* key = keys[i].ptr();
      if (!PyDict_Check(holder)) throw py::type_error("TreeStamp: a holder is not a dict");
      PyObject* value = PyDict_GetItemWithError(holder, key);
      if (value == nullptr) {
        if (PyErr_Occurred()) throw py::error_already_set();
        throw py::key_error("TreeStamp: a key is not in its holder");
      }
      entries_.push_back({holder, key, value});
    }
    tensors_.reserve(tensors.size());
    for (const at::Tensor& t : tensors) {
      tensors_.push_back({t.unsafeGetTensorImpl(), t._version(), t.const_data_ptr()});
    }
  }

  bool fresh() const {
    for (size_t i = 0; i < dicts_.size(); ++i) {
      if (i + kAhead < dicts_.size()) __builtin_prefetch(dicts_[i + kAhead].dict);
      const DictItems& d = dicts_[i];
      if (PyDict_GET_SIZE(d.dict) != static_cast<Py_ssize_t>(d.count)) return false;
      Py_ssize_t pos = 0;
      PyObject *key, *value;
      for (const Item* item = items_.data() + d.begin; PyDict_Next(d.dict, &pos, &key, &value); ++item) {
        if (key != item->key || value != item->value) return false;
      }
    }
    for (size_t i = 0; i < entries_.size(); ++i) {
      const Entry& e = entries_[i];
      if (i + kAhead < entries_.size()) __builtin_prefetch(entries_[i + kAhead].holder);
      PyObject* value = PyDict_GetItemWithError(e.holder, e.key);
      if (value != e.value) {
        if (value == nullptr && PyErr_Occurred()) throw py::error_already_set();
        return false;
      }
    }
    for (size_t i = 0; i < tensors_.size(); ++i) {
      const Stamped& s = tensors_[i];
      if (i + kAhead < tensors_.size()) __builtin_prefetch(tensors_[i + kAhead].impl);
      if (s.impl->version_counter().current_version() != s.version || s.impl->data() != s.data) return false;
    }
    return true;
  }

 private:
  static constexpr size_t kAhead = 6;
  struct Item {
    PyObject* key;
    PyObject* value;
  };
  struct DictItems {
    PyObject* dict;
    size_t begin, count;  // its items in items_
  };
  struct Entry {
    PyObject *holder, *key, *value;
  };
  struct Stamped {
    const c10::TensorImpl* impl;
    uint32_t version;
    const void* data;
  };
  std::vector<DictItems> dicts_;
  std::vector<Item> items_;
  std::vector<Entry> entries_;
  std::vector<Stamped> tensors_;
};

// The plans' direct calls (cpu/plan_calls.h): the op's CPU implementation
// under the profiler's record of the op (its inputs when the profiler asks for
// shapes), without the GIL, and the version bump of a tensor written in place.
using OptTensor = std::optional<at::Tensor>;
using Ints = std::vector<int64_t>;

c10::IValue ivalue(const OptTensor& t) { return t ? c10::IValue(*t) : c10::IValue(); }

at::Tensor plan_fused_conv2d(const at::Tensor& x, const at::Tensor& weight, const OptTensor& bias,
                             const OptTensor& residual, int64_t out_channels, const Ints& kernel_size, int64_t stride,
                             const Ints& padding, const std::string& activation, const std::string& residual_op) {
  RECORD_FUNCTION("fastvfx::fused_conv2d", std::vector<c10::IValue>({x, weight, ivalue(bias), ivalue(residual)}));
  py::gil_scoped_release no_gil;
  return fastvfx::ops::fused_conv2d_cpu(x, weight, bias, residual, out_channels, kernel_size, stride, padding,
                                        activation, residual_op);
}

void plan_fused_conv2d_residual_(const at::Tensor& x, const at::Tensor& weight, const OptTensor& bias,
                                 const at::Tensor& residual, int64_t out_channels, const Ints& kernel_size,
                                 int64_t stride, const Ints& padding, const std::string& activation,
                                 const std::string& residual_op) {
  RECORD_FUNCTION("fastvfx::fused_conv2d_residual_", std::vector<c10::IValue>({x, weight, ivalue(bias), residual}));
  {
    py::gil_scoped_release no_gil;
    fastvfx::ops::fused_conv2d_residual_cpu(x, weight, bias, residual, out_channels, kernel_size, stride, padding,
                                            activation, residual_op);
  }
  residual.unsafeGetTensorImpl()->bump_version();
}

at::Tensor plan_inverted_residual(const at::Tensor& x, const OptTensor& expand_weight, const OptTensor& expand_bias,
                                  const at::Tensor& dw_weight, const at::Tensor& dw_bias,
                                  const at::Tensor& project_weight, const at::Tensor& project_bias, int64_t hidden,
                                  int64_t out_channels, int64_t kernel_size, int64_t stride, bool residual,
                                  const std::string& expand_activation, const std::string& dw_activation,
                                  const std::string& shift, int64_t n_segment, int64_t fold) {
  RECORD_FUNCTION("fastvfx::inverted_residual", std::vector<c10::IValue>({x}));
  py::gil_scoped_release no_gil;
  return fastvfx::ops::inverted_residual_cpu(x, expand_weight, expand_bias, dw_weight, dw_bias, project_weight,
                                             project_bias, hidden, out_channels, kernel_size, stride, residual,
                                             expand_activation, dw_activation, shift, n_segment, fold);
}

at::Tensor plan_inverted_residual_step(const at::Tensor& x, at::Tensor& cache, const OptTensor& expand_weight,
                                       const OptTensor& expand_bias, const at::Tensor& dw_weight,
                                       const at::Tensor& dw_bias, const at::Tensor& project_weight,
                                       const at::Tensor& project_bias, int64_t hidden, int64_t out_channels,
                                       int64_t kernel_size, int64_t stride, bool residual,
                                       const std::string& expand_activation, const std::string& dw_activation) {
  RECORD_FUNCTION("fastvfx::inverted_residual_step", std::vector<c10::IValue>({x, cache}));
  at::Tensor y;
  {
    py::gil_scoped_release no_gil;
    y = fastvfx::ops::inverted_residual_step_cpu(x, cache, expand_weight, expand_bias, dw_weight, dw_bias,
                                                 project_weight, project_bias, hidden, out_channels, kernel_size,
                                                 stride, residual, expand_activation, dw_activation);
  }
  cache.unsafeGetTensorImpl()->bump_version();
  return y;
}

// The shapes a plan expects of a list of float32 tensors (MobileNetV2-TSM's
// shift caches), checked in one call once a step: 17 shape and dtype reads
// from Python took 22 us of the online step, after the step's work evicted
// what they touch.
class ShapeCheck {
 public:
  explicit ShapeCheck(std::vector<std::vector<int64_t>> shapes) : shapes_(std::move(shapes)) {}

  // The index of the first entry of `tensors` that is not a tensor of its
  // shape in float32, or -1 (the list's length is the caller's check).
  int64_t first_mismatch(const py::list& tensors) const {
    const size_t n = std::min(tensors.size(), shapes_.size());
    for (size_t i = 0; i < n; ++i) {
      PyObject* obj = tensors[i].ptr();
      if (!THPVariable_Check(obj)) return static_cast<int64_t>(i);
      const at::Tensor& t = THPVariable_Unpack(obj);
      if (t.scalar_type() != at::kFloat || t.sizes() != at::IntArrayRef(shapes_[i])) return static_cast<int64_t>(i);
    }
    return -1;
  }

  // Whether every entry of `tensors` is a channels_last contiguous tensor.
  bool channels_last(const py::list& tensors) const {
    for (const py::handle obj : tensors) {
      if (!THPVariable_Check(obj.ptr()) ||
          !THPVariable_Unpack(obj.ptr()).is_contiguous(at::MemoryFormat::ChannelsLast)) {
        return false;
      }
    }
    return true;
  }

 private:
  std::vector<std::vector<int64_t>> shapes_;
};

// SerialScope as a Python context manager (entered and left on one thread).
struct SerialContext {
  std::optional<fastvfx::ops::SerialScope> scope;
};

}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "fastvfx compiled core: torch ops (torch.ops.fastvfx) and build information";
  m.attr("__version__") = FASTVFX_VERSION_STRING;
  m.attr("torch_version") = FASTVFX_TORCH_VERSION;
  m.attr("build_type") = FASTVFX_BUILD_TYPE;
#if FASTVFX_WITH_CUDA
  m.attr("cuda_compiled") = true;
  m.attr("cuda_architectures") = fastvfx::cuda::compiled_architectures();
#else
  m.attr("cuda_compiled") = false;
  m.attr("cuda_architectures") = "";
#endif
  m.def("compiled_isas", [] { return isas_where(fastvfx::isa_compiled); },
        "ISA variants built into this library.");
  m.def("supported_isas", [] { return isas_where(fastvfx::isa_supported); },
        "ISA variants this CPU can run.");
  m.def("active_isa", [] { return std::string(fastvfx::isa_name(fastvfx::active_isa())); },
        "The ISA variant the kernels use now.");
  m.def("set_isa", &set_isa, py::arg("name"),
        "Select the ISA variant the kernels use (ValueError when it cannot run here).");
  m.def("num_threads", [] { return at::get_num_threads(); },
        "Threads the kernels use (torch's intra-op thread count).");
  m.def("huge_pages", &fastvfx::ops::huge_pages_enabled,
        "Whether CPU outputs of 32 MiB or more ask Linux for transparent huge pages (off unless "
        "FASTVFX_HUGE_PAGES=1 or set_huge_pages(True)).");
  m.def("_prefault", &fastvfx::ops::prefault_enabled,
        "Whether CPU outputs of 32 MiB or more are faulted in ahead of the kernel (FASTVFX_PREFAULT=0: no).");
  m.def("set_huge_pages", &fastvfx::ops::set_huge_pages, py::arg("enabled"),
        "Switch the huge-page advice for CPU outputs of 32 MiB or more on or off.");
  m.def("_prepare_large_output", &fastvfx::ops::prepare_large_output, py::arg("fresh"),
        "What the CPU ops do to a fresh output of 32 MiB or more before writing it (tests).");
  m.def("_channels_last_copy", &fastvfx::ops::channels_last_copy, py::arg("x"),
        "x.contiguous(memory_format=torch.channels_last), float32 NCHW through the core's transposes "
        "(no autograd: inference glue).");
  m.def("_space_to_depth2", &space_to_depth2, py::arg("x"),
        "The 2x2 space-to-depth of x (N, C, H, W), (N, 4C, H/2, W/2) channels_last: channel 2pC + 2c + q of "
        "pixel (a, b) is x[:, c, 2a + p, 2b + q] (no autograd: inference glue).");
  m.def("_pack_winograd", &pack_winograd, py::arg("weight"), py::arg("tile") = 2,
        "A 3x3 weight (C_out, C_in, 3, 3) transformed for Winograd F(tile x tile, 3x3), tile 2 or 4 "
        "(u[o][xi][c] = (G w[o][c] G^T)[xi]) and packed, (ceil(C_out / 32), (tile + 2)^2, C_in, 32): "
        "fused_conv2d's Winograd weight.");
  m.def("_winograd_tile", &fastvfx::winograd_tile, py::arg("in_channels"), py::arg("out_channels"),
        py::arg("batch"), py::arg("out_h"), py::arg("out_w"),
        "The Winograd tile that runs a 3x3 stride-1 conv of these channels and output size fastest: 4 (F(4x4, "
        "3x3)), 2 (F(2x2, 3x3)) or 0 (the direct conv); the rule the models' plans and the TFC op share.");
  m.def("_channels_last_mean", &channels_last_mean, py::arg("x"),
        "x.mean((2, 3), keepdim=True) of a float32 channels_last x through the core's row sum, channels_last "
        "(no autograd: inference glue).");
  m.def("_plan_fused_conv2d", &plan_fused_conv2d,
        "torch.ops.fastvfx.fused_conv2d for an inference plan: the CPU kernel called directly (no checks of "
        "grad mode or device: the plan's owner made them).");
  m.def("_plan_fused_conv2d_residual_", &plan_fused_conv2d_residual_,
        "torch.ops.fastvfx.fused_conv2d_residual_ for an inference plan (see _plan_fused_conv2d).");
  m.def("_plan_inverted_residual", &plan_inverted_residual,
        "torch.ops.fastvfx.inverted_residual for an inference plan (see _plan_fused_conv2d).");
  m.def("_plan_inverted_residual_step", &plan_inverted_residual_step,
        "torch.ops.fastvfx.inverted_residual_step for an inference plan (see _plan_fused_conv2d).");
  py::class_<ShapeCheck>(m, "_ShapeCheck",
                         "Shapes expected of a list of float32 tensors: first_mismatch(tensors) is the index of the "
                         "first that differs, or -1; channels_last(tensors) whether all are channels_last "
                         "contiguous.")
      .def(py::init<std::vector<std::vector<int64_t>>>(), py::arg("shapes"))
      .def("first_mismatch", &ShapeCheck::first_mismatch, py::arg("tensors"))
      .def("channels_last", &ShapeCheck::channels_last, py::arg("tensors"));
  py::class_<TreeStamp>(m, "_TreeStamp",
                        "A module tree's stamp (fastvfx.nn._batchnorm): every key and value of each of dicts, "
                        "holders[i][keys[i]] and every tensor's version and data pointer as they are now; fresh() "
                        "tells whether all are unchanged.")
      .def(py::init<const py::list&, const py::list&, const py::list&, const std::vector<at::Tensor>&>(),
           py::arg("dicts"), py::arg("holders"), py::arg("keys"), py::arg("tensors"))
      .def("fresh", &TreeStamp::fresh);
  py::class_<SerialContext>(m, "serial",
                            "Context manager: torch's parallel loops, the kernels' and MKL's GEMMs run on the "
                            "calling thread alone inside it (for steps too small to split over threads).")
      .def(py::init<>())
      .def("__enter__", [](SerialContext& c) { c.scope.emplace(); })
      .def("__exit__", [](SerialContext& c, const py::args&) { c.scope.reset(); });
  m.def(
      "causal_dwconv3d_padded_numel",
      [](std::vector<int64_t> x_size, std::vector<int64_t> kernel, std::vector<int64_t> stride,
         std::vector<int64_t> padding, bool tf_same, bool float64) {
        return fastvfx::ops::causal_dwconv3d_padded_numel_for(x_size, kernel, stride, padding, tf_same,
                                                              float64 ? at::kDouble : at::kFloat);
      },
      "Elements of one padded frame of a causal_dwconv3d stream cache.");
  fastvfx::ops::def_temporal_shift_eager(m);
  fastvfx::ops::def_causal_dwconv3d_eager(m);
}
