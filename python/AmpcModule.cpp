//===- AmpcModule.cpp - the `ampc` Python module
//---------------------------===//
//
// Python bindings of the host API (pybind11): ampc.compile -> a Module whose
// functions take and return numpy arrays, and ampc.Trainer. Tensors travel
// as numpy arrays: f32, f64, f16, i1 (bool), i8, i32, i64 as themselves;
// bf16 as uint16 and fp8 as uint8 bit patterns. Every error of the C++ API
// is raised as ampc.Error (a RuntimeError) with the same message.
//
//===----------------------------------------------------------------------===//

#include "ampc/Import/Onnx.h"
#include "ampc/JIT/Trainer.h"
#include "ampc_rt/Collectives.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>

namespace py = pybind11;
using ampc_rt::DType;
using ampc_rt::Tensor;

namespace {

struct AmpcError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void check(llvm::Error error) {
  if (error)
    throw AmpcError(llvm::toString(std::move(error)));
}

template <typename T> T unwrap(llvm::Expected<T> value) {
  if (!value)
    throw AmpcError(llvm::toString(value.takeError()));
  return std::move(*value);
}

/// The runtime type of a numpy dtype (nothing for the others).
std::optional<DType> dtypeOf(const py::dtype &type) {
  const std::pair<py::dtype, DType> table[] = {
      {py::dtype::of<float>(), DType::F32},
      {py::dtype::of<double>(), DType::F64},
      {py::dtype("float16"), DType::F16},
      {py::dtype::of<bool>(), DType::I1},
      {py::dtype::of<int8_t>(), DType::I8},
      {py::dtype::of<int32_t>(), DType::I32},
      {py::dtype::of<int64_t>(), DType::I64},
      {py::dtype::of<uint8_t>(), DType::U8},
      {py::dtype::of<uint16_t>(), DType::U16}};
  for (const auto &[numpy, dtype] : table)
    if (type.equal(numpy))
      return dtype;
  return std::nullopt;
}

/// The numpy dtype a tensor comes back as.
py::dtype numpyOf(DType type) {
  switch (type) {
  case DType::F32:
    return py::dtype::of<float>();
  case DType::F64:
    return py::dtype::of<double>();
  case DType::F16:
    return py::dtype("float16");
  case DType::BF16:
  case DType::U16:
    return py::dtype::of<uint16_t>();
  case DType::F8E4M3FN:
  case DType::F8E5M2:
  case DType::U8:
    return py::dtype::of<uint8_t>();
  case DType::I1:
    return py::dtype::of<bool>();
  case DType::I8:
    return py::dtype::of<int8_t>();
  case DType::I32:
    return py::dtype::of<int32_t>();
  case DType::I64:
    return py::dtype::of<int64_t>();
  }
  return py::dtype::of<uint8_t>();
}

Tensor toTensor(const py::handle &object, size_t index) {
  auto array = py::array::ensure(object, py::array::c_style);
  if (!array)
    throw AmpcError("argument #" + std::to_string(index) + " is not an array");
  std::optional<DType> dtype = dtypeOf(array.dtype());
  if (!dtype)
    throw AmpcError("argument #" + std::to_string(index) + " has dtype " +
                    py::str(array.dtype()).cast<std::string>() +
                    "; expected float32, float64, float16, bool, int8, "
                    "int32, int64, uint8 or uint16");
  Tensor tensor(*dtype, std::vector<int64_t>(array.shape(),
                                             array.shape() + array.ndim()));
  std::memcpy(tensor.data.data(), array.data(), tensor.data.size());
  return tensor;
}

std::vector<Tensor> toTensors(const py::args &args) {
  std::vector<Tensor> tensors;
  for (size_t i = 0; i < args.size(); ++i)
    tensors.push_back(toTensor(args[i], i));
  return tensors;
}

py::array toArray(const Tensor &tensor) {
  py::array array(numpyOf(tensor.dtype), tensor.shape);
  std::memcpy(array.mutable_data(), tensor.data.data(), tensor.data.size());
  return array;
}

py::list toArrays(const std::vector<Tensor> &tensors) {
  py::list list;
  for (const Tensor &t : tensors)
    list.append(toArray(t));
  return list;
}

std::optional<ampc::amp::Policy> policyNamed(const std::string &name) {
  if (name.empty() || name == "none")
    return std::nullopt;
  std::optional<ampc::amp::Policy> policy = ampc::amp::symbolizePolicy(name);
  if (!policy)
    throw AmpcError("unknown policy '" + name +
                    "'; expected none, fp32, bf16, fp16 or fp8");
  return policy;
}

ampc::JitOptions jitOptions(const std::string &policy, int64_t batch,
                            unsigned threads, const std::string &target,
                            const std::string &cpuFeatures) {
  ampc::JitOptions options;
  options.precision.policy = policyNamed(policy);
  options.batch = batch;
  options.threads = threads;
  options.target = target;
  options.cpuFeatures = cpuFeatures;
  return options;
}

} // namespace

namespace {

/// A compiled module; its functions are attributes (`module.forward(x)`).
struct PyModule {
  std::shared_ptr<ampc::JitModule> module;

  py::list call(const std::string &name, const py::args &args) {
    return toArrays(unwrap(module->call(name, toTensors(args))));
  }
  std::vector<std::string> functions() const {
    std::vector<std::string> names;
    for (const ampc::FunctionSignature &f : module->functions())
      names.push_back(f.name);
    return names;
  }
  py::object attribute(const std::string &name) {
    if (!module->lookup(name))
      throw py::attribute_error("the module has no public function '" + name +
                                "'");
    std::shared_ptr<ampc::JitModule> keep = module;
    return py::cpp_function([keep, name](const py::args &args) {
      return toArrays(unwrap(keep->call(name, toTensors(args))));
    });
  }
};

PyModule compileModule(const std::string &path, const std::string &policy,
                       int64_t batch, unsigned threads,
                       const std::string &target,
                       const std::string &cpuFeatures) {
  return {unwrap(ampc::JitModule::fromFile(
      path, jitOptions(policy, batch, threads, target, cpuFeatures)))};
}

using Setter = std::function<void(ampc::TrainOptions &, ampc::JitOptions &,
                                  const py::handle &)>;

/// The Trainer's keyword arguments: TrainOptions and JitOptions by name.
const std::map<std::string, Setter> &trainerOptions() {
  using T = ampc::TrainOptions;
  using J = ampc::JitOptions;
  using H = const py::handle &;
  static const std::map<std::string, Setter> table = {
      {"policy",
       [](T &, J &j, H v) {
         j.precision.policy = policyNamed(v.cast<std::string>());
       }},
      {"optimizer",
       [](T &o, J &, H v) { o.optimizer = v.cast<std::string>(); }},
      {"lr", [](T &o, J &, H v) { o.learningRate = v.cast<double>(); }},
      {"momentum", [](T &o, J &, H v) { o.momentum = v.cast<double>(); }},
      {"nesterov", [](T &o, J &, H v) { o.nesterov = v.cast<bool>(); }},
      {"betas",
       [](T &o, J &, H v) {
         auto b = v.cast<std::pair<double, double>>();
         o.beta1 = b.first, o.beta2 = b.second;
       }},
      {"eps", [](T &o, J &, H v) { o.epsilon = v.cast<double>(); }},
      {"weight_decay",
       [](T &o, J &, H v) { o.weightDecay = v.cast<double>(); }},
      {"clip_norm", [](T &o, J &, H v) { o.clipNorm = v.cast<double>(); }},
      {"loss_scaling",
       [](T &o, J &, H v) { o.lossScaling = v.cast<std::string>(); }},
      {"lr_schedule",
       [](T &o, J &, H v) { o.schedule.kind = v.cast<std::string>(); }},
      {"warmup_steps",
       [](T &o, J &, H v) { o.schedule.warmupSteps = v.cast<int64_t>(); }},
      {"total_steps",
       [](T &o, J &, H v) { o.schedule.totalSteps = v.cast<int64_t>(); }},
      {"min_lr", [](T &o, J &, H v) { o.schedule.minLr = v.cast<double>(); }},
      {"step_size",
       [](T &o, J &, H v) { o.schedule.stepSize = v.cast<int64_t>(); }},
      {"gamma", [](T &o, J &, H v) { o.schedule.gamma = v.cast<double>(); }},
      {"seed", [](T &o, J &, H v) { o.seed = v.cast<uint64_t>(); }},
      {"batch", [](T &o, J &, H v) { o.batch = v.cast<int64_t>(); }},
      {"data_parallel",
       [](T &o, J &, H v) { o.dataParallel = v.cast<bool>(); }},
      {"overlap_communication",
       [](T &o, J &, H v) { o.overlapCommunication = v.cast<bool>(); }},
      {"bucket_mb", [](T &o, J &, H v) { o.bucketMB = v.cast<int64_t>(); }},
      {"threads", [](T &, J &j, H v) { j.threads = v.cast<unsigned>(); }},
      {"target", [](T &, J &j, H v) { j.target = v.cast<std::string>(); }},
      {"cpu_features",
       [](T &, J &j, H v) { j.cpuFeatures = v.cast<std::string>(); }},
  };
  return table;
}

struct PyTrainer {
  std::unique_ptr<ampc::Trainer> trainer;

  static PyTrainer create(const std::string &path, const py::kwargs &kwargs) {
    ampc::TrainOptions options;
    ampc::JitOptions jit;
    jit.precision.policy = ampc::amp::Policy::fp32;
    for (const auto &[key, value] : kwargs) {
      std::string name = key.cast<std::string>();
      if (name == "loss" && ampc::isOnnxPath(path)) {
        options.onnxLoss =
            unwrap(ampc::parseOnnxLoss(value.cast<std::string>()));
        continue;
      }
      auto it = trainerOptions().find(name);
      if (it == trainerOptions().end()) {
        std::string known;
        for (const auto &entry : trainerOptions())
          known += (known.empty() ? "" : ", ") + entry.first;
        throw AmpcError("unknown option '" + name + "'; expected " + known);
      }
      it->second(options, jit, value);
    }
    // An .onnx model is imported and trains from its own parameters.
    return {unwrap(ampc::Trainer::fromFile(path, jit, options))};
  }

  void exportOnnx(const std::string &path) const {
    check(trainer->exportOnnx(path));
  }

  py::dict step(const py::args &args) {
    ampc::StepResult r = unwrap(trainer->step(toTensors(args)));
    py::dict result;
    result["loss"] = r.loss;
    result["skipped"] = r.skipped;
    result["loss_scale"] = r.lossScale;
    result["grad_norm"] = r.gradNorm;
    result["lr"] = r.learningRate;
    return result;
  }

  py::dict parameters() const {
    py::dict params;
    std::vector<Tensor> values = trainer->parameters();
    for (size_t i = 0; i < values.size(); ++i)
      params[py::str(trainer->parameterName(i))] = toArray(values[i]);
    return params;
  }

  void setParameter(const std::string &name, const py::handle &value) {
    for (size_t i = 0; i < trainer->numParameters(); ++i)
      if (trainer->parameterName(i) == name)
        return check(trainer->setParameter(i, toTensor(value, 0)));
    throw AmpcError("the model has no parameter '" + name + "'");
  }
};

/// ampc.all_reduce: a copy of `array` combined across the ranks.
py::array allReduceArray(const py::handle &array, const std::string &op) {
  Tensor t = toTensor(array, 0);
  auto kind = op == "sum"    ? ampc_rt::ReduceKind::Sum
              : op == "mean" ? ampc_rt::ReduceKind::Mean
              : op == "max"  ? ampc_rt::ReduceKind::Max
                             : throw AmpcError("unknown op '" + op +
                                               "'; expected sum, mean or max");
  if (std::string e = ampc_rt::initDistributed(); !e.empty())
    throw AmpcError(e);
  std::string e;
  if (t.dtype == DType::F32)
    e = ampc_rt::allReduce(t.as<float>(), t.numElements(), kind);
  else if (t.dtype == DType::F64)
    e = ampc_rt::allReduce(t.as<double>(), t.numElements(), kind);
  else
    throw AmpcError("all_reduce takes float32 or float64 arrays");
  if (!e.empty())
    throw AmpcError(e);
  return toArray(t);
}

/// ampc.Trainer.
void bindTrainer(py::module_ &m) {
  py::class_<PyTrainer>(m, "Trainer")
      .def(py::init(&PyTrainer::create), py::arg("path"),
           "Trainer(path, policy='fp32', optimizer='sgd', lr=0.05, ...): "
           "builds and compiles the training step of the model at `path` "
           "(.mlir, or .onnx: imported with batch=N and loss='cross-entropy' "
           "(or 'mse', 'none'), starting from its exported parameters).")
      .def("step", &PyTrainer::step,
           "One training step on a batch (@forward's inputs after the "
           "parameters); returns loss, skipped, loss_scale, grad_norm, lr.")
      .def(
          "evaluate",
          [](PyTrainer &t, const py::args &args) {
            return toArrays(unwrap(t.trainer->evaluate(toTensors(args))));
          },
          "@forward's results on a batch, with the current parameters.")
      .def("parameters", &PyTrainer::parameters,
           "The f32 master parameters by name (copies).")
      .def("set_parameter", &PyTrainer::setParameter, py::arg("name"),
           py::arg("value"))
      .def("export_onnx", &PyTrainer::exportOnnx, py::arg("path"),
           "Writes the imported .onnx model with the trained parameters as "
           "its initializers.")
      .def(
          "save",
          [](PyTrainer &t, const std::string &path) {
            check(t.trainer->saveCheckpoint(path));
          },
          py::arg("path"), "Writes a checkpoint (atomically).")
      .def(
          "load",
          [](PyTrainer &t, const std::string &path) {
            check(t.trainer->loadCheckpoint(path));
          },
          py::arg("path"), "Resumes a checkpoint; an error changes nothing.")
      .def(
          "save_parameters",
          [](PyTrainer &t, const std::string &dir) {
            check(t.trainer->saveParameters(dir));
          },
          py::arg("directory"))
      .def(
          "load_parameters",
          [](PyTrainer &t, const std::string &dir) {
            check(t.trainer->loadParameters(dir));
          },
          py::arg("directory"))
      .def(
          "export_npz",
          [](PyTrainer &t, const std::string &path) {
            check(t.trainer->exportNpz(path));
          },
          py::arg("path"))
      .def_property_readonly(
          "steps", [](const PyTrainer &t) { return t.trainer->stepsTaken(); })
      .def_property_readonly(
          "rank", [](const PyTrainer &t) { return t.trainer->rank(); },
          "This process's rank with data_parallel=True (0 otherwise).")
      .def_property_readonly(
          "world_size",
          [](const PyTrainer &t) { return t.trainer->worldSize(); },
          "The number of ranks with data_parallel=True (1 otherwise).")
      .def_property_readonly(
          "loss_scale",
          [](const PyTrainer &t) { return t.trainer->lossScale(); })
      .def_property_readonly("precision_report", [](const PyTrainer &t) {
        return t.trainer->precisionReport();
      });
}

} // namespace

PYBIND11_MODULE(ampc, m) {
  m.doc() = "AMPC: a compiler for mixed-precision training";
  py::register_exception<AmpcError>(m, "Error", PyExc_RuntimeError);

  py::class_<PyModule>(m, "Module")
      .def("functions", &PyModule::functions,
           "The public functions, in the order of the module.")
      .def("call", &PyModule::call, py::arg("name"),
           "Calls function `name` on numpy arrays; returns a list of arrays.")
      .def_property_readonly(
          "precision_report",
          [](const PyModule &p) { return p.module->precisionReport(); })
      .def("__getattr__", &PyModule::attribute);
  m.def("all_reduce", &allReduceArray, py::arg("array"), py::arg("op") = "sum",
        "Combines an array across the ranks mpirun started (sum, mean or "
        "max); the array itself in a single process.");
  m.def("compile", &compileModule, py::arg("path"), py::kw_only(),
        py::arg("policy") = "", py::arg("batch") = 0, py::arg("threads") = 0,
        py::arg("target") = "cpu", py::arg("cpu_features") = "",
        "Compiles an MLIR model under a policy (none, fp32, bf16, fp16, "
        "fp8; '' runs it as written) for this machine, less or more the "
        "LLVM CPU features in cpu_features ('-avx512f': AVX2 code).");
  bindTrainer(m);
}
