// edgerun.hpp: C++17 RAII over edgerun's C API (edgerun.h). Header-only; link with -ledgerun.
//
// Each class owns one C handle and destroys it once. A failed call throws edgerun::Error with
// the C status and edgerun's message. A Session keeps its Model alive; a Model does not need
// its Runtime once loaded. Sharing follows edgerun.h: Runtime and Model may be used from
// several threads once set up, a Session by one thread at a time.
#ifndef EDGERUN_HPP
#define EDGERUN_HPP

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "edgerun.h"

namespace edgerun {

class Error : public std::runtime_error {
 public:
  Error(edgerun_status status, const char* message)
      : std::runtime_error(message), status_(status) {}
  edgerun_status status() const noexcept { return status_; }

 private:
  edgerun_status status_;
};

inline void check(edgerun_status status) {
  if (status != EDGERUN_OK) throw Error(status, edgerun_last_error());
}

namespace detail {
struct RuntimeDeleter {
  void operator()(edgerun_runtime* p) const noexcept { edgerun_runtime_destroy(p); }
};
struct ModelDeleter {
  void operator()(edgerun_model* p) const noexcept { edgerun_model_destroy(p); }
};
struct SessionDeleter {
  void operator()(edgerun_session* p) const noexcept { edgerun_session_destroy(p); }
};
}  // namespace detail

class Runtime {
 public:
  Runtime() {
    edgerun_runtime* p = nullptr;
    check(edgerun_runtime_create(&p));
    handle_.reset(p);
  }
  Runtime& threads(int32_t n) {
    check(edgerun_runtime_set_threads(handle_.get(), n));
    return *this;
  }
  Runtime& affinity(const std::string& cpus) {
    check(edgerun_runtime_set_affinity(handle_.get(), cpus.c_str()));
    return *this;
  }
  Runtime& backend(const std::string& name) {
    check(edgerun_runtime_set_backend(handle_.get(), name.c_str()));
    return *this;
  }
  Runtime& configure(const std::string& key, const std::string& value) {
    check(edgerun_runtime_configure(handle_.get(), key.c_str(), value.c_str()));
    return *this;
  }
  Runtime& policy(const std::string& path) {
    check(edgerun_runtime_set_policy(handle_.get(), path.c_str()));
    return *this;
  }
  // a file, "off", or (no argument) the default store
  Runtime& decision_cache(const char* path = nullptr) {
    check(edgerun_runtime_set_decision_cache(handle_.get(), path));
    return *this;
  }
  const edgerun_runtime* get() const noexcept { return handle_.get(); }

 private:
  std::unique_ptr<edgerun_runtime, detail::RuntimeDeleter> handle_;
};

class Model {
 public:
  Model(const Runtime& runtime, const std::string& path) {
    edgerun_model* p = nullptr;
    check(edgerun_model_load(runtime.get(), path.c_str(), &p));
    handle_.reset(p, detail::ModelDeleter());
  }
  size_t input_count() const { return count(false); }
  size_t output_count() const { return count(true); }
  edgerun_tensor_info input(size_t index) const { return tensor(false, index); }
  edgerun_tensor_info output(size_t index) const { return tensor(true, index); }
  std::string decision() const {
    const char* text = nullptr;
    check(edgerun_model_decision(handle_.get(), &text));
    return text;
  }
  const std::shared_ptr<edgerun_model>& handle() const noexcept { return handle_; }

 private:
  size_t count(bool output) const {
    size_t n = 0;
    check(edgerun_model_count(handle_.get(), output, &n));
    return n;
  }
  edgerun_tensor_info tensor(bool output, size_t index) const {
    edgerun_tensor_info info{};
    check(edgerun_model_tensor(handle_.get(), output, index, &info));
    return info;
  }
  std::shared_ptr<edgerun_model> handle_;
};

class Session {
 public:
  explicit Session(const Model& model) : model_(model.handle()) {
    edgerun_session* p = nullptr;
    check(edgerun_session_create(model_.get(), &p));
    handle_.reset(p);
  }
  // inputs in the order of the model's, read during the call only
  void run(const std::vector<edgerun_input>& inputs) {
    check(edgerun_session_run(handle_.get(), inputs.data(), inputs.size()));
  }
  // valid until the next run
  edgerun_output output(size_t index) const {
    edgerun_output out{};
    check(edgerun_session_output(handle_.get(), index, &out));
    return out;
  }
  template <typename T>
  std::vector<T> output_vector(size_t index) const {
    edgerun_output out = output(index);
    const T* first = static_cast<const T*>(out.data);
    return std::vector<T>(first, first + out.bytes / sizeof(T));
  }

 private:
  std::shared_ptr<edgerun_model> model_;  // destroyed after the session
  std::unique_ptr<edgerun_session, detail::SessionDeleter> handle_;
};

// an input view over the caller's elements, with the shape the model declares for it
template <typename T>
edgerun_input input(const std::vector<T>& values, edgerun_dtype dtype,
                    const std::vector<int64_t>& shape) {
  return edgerun_input{values.data(), values.size() * sizeof(T), static_cast<int32_t>(dtype),
                       shape.data(), shape.size()};
}

}  // namespace edgerun

#endif  // EDGERUN_HPP
