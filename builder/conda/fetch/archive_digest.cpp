#include "builder/conda/fetch/archive_digest.hpp"

// MD5 through OpenSSL's low-level API, as registry/digest.cpp does for
// SHA-2: EVP's first use fetches a provider and reads the configuration.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/md5.h>

#include <cctype>

namespace envbuild::builder::conda {
namespace {

std::string lower(const std::string& s) {
  std::string out = s;
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

struct ArchiveHasher::Md5 {
  MD5_CTX ctx;
};

ArchiveHasher::ArchiveHasher(bool with_md5) : sha256_("sha256") {
  if (with_md5) {
    md5_ = std::make_unique<Md5>();
    MD5_Init(&md5_->ctx);
  }
}

ArchiveHasher::~ArchiveHasher() = default;
ArchiveHasher::ArchiveHasher(ArchiveHasher&&) noexcept = default;
ArchiveHasher& ArchiveHasher::operator=(ArchiveHasher&&) noexcept = default;

void ArchiveHasher::update(const void* data, size_t size) {
  if (size == 0) return;
  sha256_.update(data, size);
  if (md5_) MD5_Update(&md5_->ctx, data, size);
  bytes_ += size;
}

ArchiveDigests ArchiveHasher::finish() {
  ArchiveDigests out;
  out.size = bytes_;
  out.sha256 = sha256_.finish().hex();
  if (md5_) {
    unsigned char raw[MD5_DIGEST_LENGTH];
    MD5_Final(raw, &md5_->ctx);
    out.md5 = registry::to_hex(raw, sizeof raw);
  }
  return out;
}

ArchiveHasher hasher_for(const PackageRecord& record) {
  return ArchiveHasher(record.sha256.empty());
}

std::string describe_mismatch(const PackageRecord& record, const ArchiveDigests& got) {
  if (record.size != 0 && got.size != record.size) {
    return "size is " + std::to_string(got.size) + " bytes, the record says " +
           std::to_string(record.size);
  }
  if (!record.sha256.empty()) {
    if (got.sha256 != lower(record.sha256)) {
      return "sha256 is " + got.sha256 + ", the record says " + lower(record.sha256);
    }
    return {};
  }
  if (!record.md5.empty()) {
    if (got.md5.empty()) return "md5 was not computed";
    if (got.md5 != lower(record.md5)) {
      return "md5 is " + got.md5 + ", the record says " + lower(record.md5);
    }
  }
  return {};
}

}  // namespace envbuild::builder::conda
