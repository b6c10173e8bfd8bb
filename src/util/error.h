// An error value in OpenAI's shape: {"error": {"message", "type", "param", "code"}} plus its HTTP status.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace sy {

struct Error {
  int status = 500;
  std::string type;         // invalid_request_error, authentication_error, api_error, timeout_error, ...
  std::string message;      // safe to show a client: never carries a secret
  std::string code;         // empty: null
  std::string param;        // empty: null
  std::string retry_after;  // kept from an upstream 429/503, sent back as Retry-After

  std::string to_json() const;  // {"error": {...}}
};

Error invalid_request(std::string message, std::string param = {}, std::string code = {});

// A value or an Error; the request path returns errors as values.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}
  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  Error& error() { return std::get<1>(v_); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace sy
