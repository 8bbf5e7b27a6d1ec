#include "registry/digest.hpp"

// OpenSSL's low-level SHA-2 functions run the same assembly (SHA-NI where
// the CPU has it) as EVP, without EVP's first-use cost: fetching a provider
// and loading the library's configuration takes about a millisecond, a
// third of an unchanged snapshot push. They are deprecated in OpenSSL 3 but
// kept; the warning is silenced here alone.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "registry/error.hpp"

namespace envbuild::registry {

namespace {

size_t hex_length_for(std::string_view algorithm) {
  if (algorithm == "sha256") return 64;
  if (algorithm == "sha512") return 128;
  return 0;
}

bool is_lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

bool Digest::try_parse(std::string_view text, Digest& out) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) return false;
  auto algorithm = text.substr(0, colon);
  auto hex = text.substr(colon + 1);
  size_t want = hex_length_for(algorithm);
  if (want == 0 || hex.size() != want || !is_lower_hex(hex)) return false;
  out = Digest(std::string(algorithm), std::string(hex));
  return true;
}

Digest Digest::parse(std::string_view text) {
  Digest d;
  if (!try_parse(text, d)) {
    throw Error(ErrorKind::BadInput,
                "invalid digest '" + std::string(text.substr(0, 200)) +
                    "': expected sha256:<64 lowercase hex> or sha512:<128 lowercase hex>");
  }
  return d;
}

Digest Digest::sha256_from_bytes(const unsigned char* raw32) {
  return Digest("sha256", to_hex(raw32, 32));
}

Digest Digest::sha256_of(std::string_view data) {
  Hasher h;
  h.update(data);
  return h.finish();
}

struct Hasher::Impl {
  bool sha512 = false;
  SHA256_CTX ctx256;
  SHA512_CTX ctx512;
};

Hasher::Hasher(std::string_view algorithm)
    : impl_(std::make_unique<Impl>()), algorithm_(algorithm) {
  if (algorithm == "sha256") {
    SHA256_Init(&impl_->ctx256);
  } else if (algorithm == "sha512") {
    impl_->sha512 = true;
    SHA512_Init(&impl_->ctx512);
  } else {
    throw Error(ErrorKind::BadInput,
                "unsupported digest algorithm '" + std::string(algorithm) + "'");
  }
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::update(const void* data, size_t size) {
  if (size == 0) return;
  if (impl_->sha512)
    SHA512_Update(&impl_->ctx512, data, size);
  else
    SHA256_Update(&impl_->ctx256, data, size);
  bytes_ += size;
}

Digest Hasher::finish() {
  unsigned char out[SHA512_DIGEST_LENGTH];
  if (impl_->sha512) {
    SHA512_Final(out, &impl_->ctx512);
    return Digest(algorithm_, to_hex(out, SHA512_DIGEST_LENGTH));
  }
  SHA256_Final(out, &impl_->ctx256);
  return Digest(algorithm_, to_hex(out, SHA256_DIGEST_LENGTH));
}

std::string to_hex(const unsigned char* data, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 0xf];
  }
  return out;
}

}  // namespace envbuild::registry
