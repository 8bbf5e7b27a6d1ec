#pragma once
// Where one package's bytes go while they arrive: a temp file in the cache
// directory (partial_file.hpp: flocked while in use, so a cleanup never
// removes a live one and always removes a dead one), hashed on the way in. commit() verifies size
// and digest against the record before the atomic rename into place, so the archive's name only
// ever points at a verified, complete file.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "builder/conda/fetch/archive_digest.hpp"
#include "builder/conda/fetch/download_pool.hpp"
#include "builder/conda/fetch/partial_file.hpp"
#include "builder/conda/fetch/verification_marker.hpp"
#include "builder/conda/package_record.hpp"

namespace envbuild::builder::conda {

class ArchiveSink : public DownloadSink {
 public:
  // `what` and `shown` (the URL for display) name the package in errors.
  ArchiveSink(const PackageRecord& record, std::filesystem::path archive, std::string what,
              std::string shown);

  void restart() override;
  // A Content-Length other than the record's size fails at once.
  void expect(uint64_t length) override;
  // More bytes than the record's size fail at once (a server cannot fill
  // the disk).
  void write(const char* data, size_t size) override;

  uint64_t bytes() const { return hasher_.bytes(); }
  // The Content-Length of the current attempt, 0 when unknown.
  uint64_t expected_length() const { return expected_; }

  // Verifies what arrived and renames it into place; returns the marker
  // that describes it. Throws Error(BadInput) naming the package and URL on
  // a mismatch, and the temp file is gone either way.
  VerificationMarker commit();

 private:
  [[noreturn]] void mismatch(const std::string& why);

  PackageRecord record_;
  std::filesystem::path archive_;
  std::string what_;
  std::string shown_;
  std::optional<PartialFile> file_;
  ArchiveHasher hasher_;
  uint64_t expected_ = 0;
};

// The verification shared by downloads and local copies: checks `hasher`'s
// result against `record` (Error(BadInput) "<what> from <shown>: ..." on a
// mismatch, the temp discarded), moves the temp's mtime into the past (see
// verification_marker.hpp), commits it and returns its marker.
VerificationMarker commit_verified(PartialFile& file, ArchiveHasher& hasher,
                                   const PackageRecord& record, const std::string& what,
                                   const std::string& shown);

}  // namespace envbuild::builder::conda
