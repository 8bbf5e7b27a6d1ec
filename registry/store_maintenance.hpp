#pragma once
// Integrity check and garbage collection of a LayoutStore.
//
// Reachability: the roots are the index.json entries (tagged or not); from a
// manifest we follow manifest_children (index -> manifests, image manifest ->
// config + layers) and its subject when present. Everything else in blobs/
// is garbage.
//
// gc safety rules:
// - gc holds the store lock (LayoutStore::lock), so no put_manifest runs
//   concurrently: a manifest blob and its index entry land together.
// - put_blob takes no lock, so a blob may be written (or, if present, have
//   its mtime refreshed) moments before the manifest naming it is put. gc
//   therefore deletes an unreachable blob only if its mtime is older than
//   `blob_grace` (10 minutes by default). The deletion renames the blob
//   aside first and re-checks the mtime of the renamed file, so a put_blob
//   that refreshed it just before is honoured and one just after sees the
//   blob absent and writes it again. blob_grace = 0 is for tests or stores
//   with no concurrent writers.
// - A temp file (".tmp-*") is removed only when no writer holds its flock,
//   i.e. its writer died; an in-flight temp is never touched (atomic_file.hpp).
// - gc refuses to run (Error BadInput) if a reachable manifest is missing or
//   corrupt, since what it references cannot be known; run verify first.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "registry/layout_store.hpp"

namespace envbuild::registry {

struct VerifyReport {
  std::vector<std::string> problems;  // one line each, naming the digest/tag
  size_t blobs_checked = 0;
  size_t manifests_checked = 0;
  bool ok() const { return problems.empty(); }
};

// Rehashes every blob (its file name must be its digest) and checks that
// every index.json entry and, recursively, every manifest's children are
// present with the sizes their descriptors state. Never throws for problems
// in the store's content; reports them.
VerifyReport verify(LayoutStore& store);

struct GcOptions {
  std::chrono::seconds blob_grace{600};
};

struct GcReport {
  size_t blobs_removed = 0;       // unreachable blobs removed (or, dry run, to remove)
  size_t temp_files_removed = 0;  // abandoned temp files removed
  uint64_t bytes_freed = 0;       // by both
  size_t kept_recent_blobs = 0;   // unreachable but younger than the grace period
};

GcReport gc(LayoutStore& store, bool dry_run, const GcOptions& options = {});

}  // namespace envbuild::registry
