#include "builder/conda/fetch/archive_sink.hpp"

#include <cerrno>
#include <cstring>

#include "registry/error.hpp"

namespace envbuild::builder::conda {
namespace {

// How far into the past a placed archive's mtime goes: beyond any
// filesystem's timestamp granularity (FAT's is 2 s), so any later write
// gives it a different mtime.
constexpr int kMtimeBackdate = 3;

}  // namespace

VerificationMarker commit_verified(PartialFile& file, ArchiveHasher& hasher,
                                   const PackageRecord& record, const std::string& what,
                                   const std::string& shown) {
  ArchiveDigests digests = hasher.finish();
  std::string why = describe_mismatch(record, digests);
  if (!why.empty()) {
    file.discard();
    throw Error(ErrorKind::BadInput, what + " from " + shown + ": " + why);
  }
  file.backdate_mtime(kMtimeBackdate);
  file.commit();
  auto stamp = stamp_of(file.final_path());
  if (!stamp) {
    throw Error(ErrorKind::Internal, "cannot stat " + file.final_path().string() +
                                         " right after placing it: " + std::strerror(errno));
  }
  return {digests, *stamp};
}

ArchiveSink::ArchiveSink(const PackageRecord& record, std::filesystem::path archive,
                         std::string what, std::string shown)
    : record_(record),
      archive_(std::move(archive)),
      what_(std::move(what)),
      shown_(std::move(shown)),
      hasher_(hasher_for(record)) {}

void ArchiveSink::mismatch(const std::string& why) {
  file_.reset();  // removes the temp now rather than when the job is dropped
  throw Error(ErrorKind::BadInput, what_ + " from " + shown_ + ": " + why);
}

void ArchiveSink::restart() {
  file_.reset();
  file_.emplace(archive_);
  hasher_ = hasher_for(record_);
  expected_ = 0;
}

void ArchiveSink::expect(uint64_t length) {
  expected_ = length;
  if (record_.size != 0 && length != record_.size) {
    mismatch("the server announces " + std::to_string(length) + " bytes, the record says " +
             std::to_string(record_.size));
  }
}

void ArchiveSink::write(const char* data, size_t size) {
  if (record_.size != 0 && hasher_.bytes() + size > record_.size) {
    mismatch("more than the record's " + std::to_string(record_.size) + " bytes arrived");
  }
  file_->write(data, size);
  hasher_.update(data, size);
}

VerificationMarker ArchiveSink::commit() {
  if (!file_) throw Error(ErrorKind::Internal, "commit of " + what_ + " before any attempt");
  VerificationMarker marker = commit_verified(*file_, hasher_, record_, what_, shown_);
  file_.reset();
  return marker;
}

}  // namespace envbuild::builder::conda
