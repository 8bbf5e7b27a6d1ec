#include "snapshot/snapshot_diff.hpp"

#include <algorithm>

#include "registry/error.hpp"

namespace envbuild::snapshot {
namespace {

std::vector<const SnapshotFile*> sorted(const std::vector<SnapshotFile>& files) {
  std::vector<const SnapshotFile*> out;
  out.reserve(files.size());
  for (const auto& f : files) out.push_back(&f);
  std::sort(out.begin(), out.end(),
            [](const SnapshotFile* a, const SnapshotFile* b) { return a->path < b->path; });
  return out;
}

bool same(const SnapshotFile& a, const SnapshotFile& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case EntryType::File:
      return a.executable == b.executable && a.size == b.size && a.sha256 == b.sha256;
    case EntryType::Symlink:
      return a.link_target == b.link_target;
    case EntryType::Directory:
      return true;
  }
  return false;
}

}  // namespace

SnapshotDiff diff_snapshots(const std::vector<SnapshotFile>& before,
                            const std::vector<SnapshotFile>& after) {
  const auto a = sorted(before);
  const auto b = sorted(after);
  SnapshotDiff diff;
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && a[i]->path < b[j]->path)) {
      diff.removed.push_back(a[i++]->path);
    } else if (i == a.size() || b[j]->path < a[i]->path) {
      diff.added.push_back(b[j++]->path);
    } else {
      if (!same(*a[i], *b[j])) diff.modified.push_back(a[i]->path);
      ++i;
      ++j;
    }
  }
  return diff;
}

std::vector<SnapshotFile> files_of_walk(const WalkResult& walk, const HashedTree& hashes) {
  if (hashes.digests.size() != walk.entries.size()) {
    throw Error(ErrorKind::Internal, "hashes do not match the walk (" +
                                         std::to_string(hashes.digests.size()) + " vs " +
                                         std::to_string(walk.entries.size()) + " entries)");
  }
  std::vector<SnapshotFile> files;
  files.reserve(walk.entries.size());
  for (size_t i = 0; i < walk.entries.size(); ++i) {
    const SourceEntry& e = walk.entries[i];
    SnapshotFile f;
    f.path = e.path;
    f.type = e.type;
    if (e.type == EntryType::File) {
      if (!hashes.digests[i]) throw Error(ErrorKind::Internal, e.path + " has no content digest");
      f.size = e.size;
      f.sha256 = *hashes.digests[i];
      f.executable = (e.mode & 0100) != 0;  // as pushed: the owner's execute bit
    } else if (e.type == EntryType::Symlink) {
      f.link_target = e.link_target;
      f.size = e.link_target.size();
    }
    files.push_back(std::move(f));
  }
  std::sort(files.begin(), files.end(),
            [](const SnapshotFile& a, const SnapshotFile& b) { return a.path < b.path; });
  return files;
}

}  // namespace envbuild::snapshot
