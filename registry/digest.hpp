#pragma once
// Content digests ("sha256:<64 hex>") and a streaming hasher over OpenSSL EVP,
// which uses SHA-NI where the CPU has it.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace envbuild::registry {

class Digest {
 public:
  Digest() = default;
  // Parses "algorithm:hex". Accepts sha256 and sha512 (read-only support);
  // throws Error(BadInput) naming the input otherwise.
  static Digest parse(std::string_view text);
  // Returns false instead of throwing.
  static bool try_parse(std::string_view text, Digest& out);
  static Digest sha256_of(std::string_view data);
  // From the 32 raw bytes of a SHA-256 (no parsing: any bytes are valid).
  static Digest sha256_from_bytes(const unsigned char* raw32);

  const std::string& algorithm() const { return algorithm_; }
  const std::string& hex() const { return hex_; }
  std::string str() const { return algorithm_ + ":" + hex_; }
  bool empty() const { return hex_.empty(); }

  friend bool operator==(const Digest&, const Digest&) = default;
  friend auto operator<=>(const Digest&, const Digest&) = default;

 private:
  friend class Hasher;
  Digest(std::string algorithm, std::string hex)
      : algorithm_(std::move(algorithm)), hex_(std::move(hex)) {}
  std::string algorithm_;
  std::string hex_;
};

// Incremental hasher. `algorithm` is "sha256" or "sha512".
class Hasher {
 public:
  explicit Hasher(std::string_view algorithm = "sha256");
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Finishes the hash; the hasher must not be updated afterwards.
  Digest finish();
  uint64_t bytes() const { return bytes_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string algorithm_;
  uint64_t bytes_ = 0;
};

// Lowercase hex of `n` bytes.
std::string to_hex(const unsigned char* data, size_t n);

}  // namespace envbuild::registry

template <>
struct std::hash<envbuild::registry::Digest> {
  size_t operator()(const envbuild::registry::Digest& d) const noexcept {
    return std::hash<std::string>()(d.hex());
  }
};
