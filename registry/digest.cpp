#include "registry/digest.hpp"

#include <openssl/evp.h>

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

std::string to_hex(const unsigned char* data, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 0xf];
  }
  return out;
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

Digest Digest::sha256_of(std::string_view data) {
  Hasher h;
  h.update(data);
  return h.finish();
}

struct Hasher::Impl {
  EVP_MD_CTX* ctx = nullptr;
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Hasher::Hasher(std::string_view algorithm)
    : impl_(std::make_unique<Impl>()), algorithm_(algorithm) {
  const EVP_MD* md = nullptr;
  if (algorithm == "sha256") {
    md = EVP_sha256();
  } else if (algorithm == "sha512") {
    md = EVP_sha512();
  } else {
    throw Error(ErrorKind::BadInput,
                "unsupported digest algorithm '" + std::string(algorithm) + "'");
  }
  impl_->ctx = EVP_MD_CTX_new();
  if (!impl_->ctx || EVP_DigestInit_ex(impl_->ctx, md, nullptr) != 1) {
    throw Error(ErrorKind::Internal, "OpenSSL digest init failed");
  }
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::update(const void* data, size_t size) {
  if (size == 0) return;
  EVP_DigestUpdate(impl_->ctx, data, size);
  bytes_ += size;
}

Digest Hasher::finish() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, out, &len);
  Digest d;
  Digest::try_parse(algorithm_ + ":" + to_hex(out, len), d);
  return d;
}

}  // namespace envbuild::registry
