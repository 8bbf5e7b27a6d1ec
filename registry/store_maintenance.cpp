#include "registry/store_maintenance.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <ctime>
#include <set>
#include <vector>

#include "registry/atomic_file.hpp"
#include "registry/descriptor_json.hpp"
#include "registry/error.hpp"

namespace envbuild::registry {

namespace fs = std::filesystem;

namespace {

constexpr size_t kHashBufferBytes = 1 << 20;

// One reference still to check: what it is and how we got there.
struct Pending {
  Descriptor descriptor;
  std::string via;     // "tag 'v1'", "tag 'v1' > manifest sha256:..", for messages
  bool manifest;       // descend into it
  bool may_be_absent;  // a subject need not be stored here
};

struct Walk {
  std::set<Digest> reachable;
  std::vector<std::string> problems;
  // Manifests whose references could not be read: gc cannot know what they keep.
  std::vector<std::string> unreadable;
  size_t manifests_checked = 0;
};

std::string root_label(const Descriptor& d) {
  auto it = d.annotations.find(std::string(kRefNameAnnotation));
  if (it != d.annotations.end()) return "tag '" + it->second + "'";
  return "untagged root " + d.digest.str();
}

void push_children(const ManifestBytes& manifest, const std::string& via,
                   std::vector<Pending>& stack) {
  ManifestChildren children = manifest_children(manifest);
  std::string here = via + " > " + manifest.digest.str();
  for (auto& d : children.manifests) stack.push_back({std::move(d), here, true, false});
  for (auto& d : children.blobs) stack.push_back({std::move(d), here, false, false});
  if (children.subject)
    stack.push_back({std::move(*children.subject), here + " subject", true, true});
}

Walk walk_from_roots(LayoutStore& store, const std::vector<Descriptor>& roots,
                     const std::set<Digest>& known_corrupt) {
  Walk walk;
  std::vector<Pending> stack;
  for (auto it = roots.rbegin(); it != roots.rend(); ++it)
    stack.push_back({*it, root_label(*it), true, false});
  while (!stack.empty()) {
    Pending item = std::move(stack.back());
    stack.pop_back();
    const Descriptor& d = item.descriptor;
    if (!walk.reachable.insert(d.digest).second) continue;
    std::optional<int64_t> size = store.stat_blob(d.digest);
    if (!size) {
      // Foreign (non-distributable) layers carry urls and are legitimately absent.
      if (item.may_be_absent || !d.urls.empty()) continue;
      std::string line =
          item.via + ": missing " + (item.manifest ? "manifest " : "blob ") + d.digest.str();
      walk.problems.push_back(line);
      if (item.manifest) walk.unreadable.push_back(line);
      continue;
    }
    if (*size != d.size) {
      walk.problems.push_back(item.via + ": blob " + d.digest.str() + " has " +
                              std::to_string(*size) + " bytes, its descriptor says " +
                              std::to_string(d.size));
    }
    if (!item.manifest) continue;
    if (known_corrupt.count(d.digest)) {  // already reported by the rehash
      walk.unreadable.push_back(item.via + ": corrupt manifest " + d.digest.str());
      continue;
    }
    try {
      auto manifest = store.read_manifest_blob(d.digest, d.media_type);
      if (!manifest) continue;  // removed since the stat: reported by a later run
      ++walk.manifests_checked;
      push_children(*manifest, item.via, stack);
    } catch (const Error& e) {
      std::string line = item.via + ": " + e.what();
      walk.problems.push_back(line);
      walk.unreadable.push_back(line);
    }
  }
  return walk;
}

// Hashes a file in chunks; throws Error on I/O failure.
Digest hash_file(const fs::path& path, std::string_view algorithm) {
  FileBlobReader reader(path);
  Hasher hasher(algorithm);
  std::vector<char> buf(kHashBufferBytes);
  for (;;) {
    size_t got = reader.read(buf.data(), buf.size());
    if (got == 0) break;
    hasher.update(buf.data(), got);
  }
  return hasher.finish();
}

int64_t mtime_ns(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

bool is_algorithm_dir(const std::string& name) { return name == "sha256" || name == "sha512"; }

}  // namespace

VerifyReport verify(LayoutStore& store) {
  VerifyReport report;
  std::set<Digest> corrupt;
  std::error_code ec;
  for (const auto& alg_entry : fs::directory_iterator(store.blobs_dir(), ec)) {
    std::string alg = alg_entry.path().filename().string();
    if (!is_algorithm_dir(alg) || !alg_entry.is_directory()) {
      report.problems.push_back("unexpected entry blobs/" + alg + " in " + store.describe());
      continue;
    }
    for (const auto& file : fs::directory_iterator(alg_entry.path())) {
      std::string name = file.path().filename().string();
      if (is_temp_name(name)) continue;  // in flight, or abandoned (gc removes it)
      Digest digest;
      if (!Digest::try_parse(alg + ":" + name, digest) || !file.is_regular_file() ||
          file.is_symlink()) {
        report.problems.push_back("unexpected entry blobs/" + alg + "/" + name + " in " +
                                  store.describe());
        continue;
      }
      ++report.blobs_checked;
      try {
        Digest actual = hash_file(file.path(), alg);
        if (actual != digest) {
          corrupt.insert(digest);
          report.problems.push_back("corrupt blob " + digest.str() + ": content hashes to " +
                                    actual.str());
        }
      } catch (const Error& e) {
        corrupt.insert(digest);
        report.problems.push_back("unreadable blob " + digest.str() + ": " + e.what());
      }
    }
  }
  if (ec)
    report.problems.push_back("cannot list " + store.blobs_dir().string() + ": " + ec.message());

  std::vector<Descriptor> roots;
  try {
    roots = store.index_entries();
  } catch (const Error& e) {
    report.problems.push_back(e.what());
    return report;
  }
  Walk walk = walk_from_roots(store, roots, corrupt);
  report.manifests_checked = walk.manifests_checked;
  for (auto& line : walk.problems) report.problems.push_back(std::move(line));
  return report;
}

GcReport gc(LayoutStore& store, bool dry_run, const GcOptions& options) {
  FileLock guard = store.lock();
  const int64_t cutoff =
      now_ns() - static_cast<int64_t>(options.blob_grace.count()) * 1'000'000'000;
  Walk walk = walk_from_roots(store, store.index_entries(), {});
  if (!walk.unreadable.empty()) {
    throw Error(ErrorKind::BadInput,
                "refusing to gc " + store.describe() + ": " + walk.unreadable.front() +
                    (walk.unreadable.size() > 1
                         ? " (and " + std::to_string(walk.unreadable.size() - 1) + " more)"
                         : std::string()) +
                    "; run verify");
  }
  GcReport report;
  auto sweep_temp = [&](const fs::path& path) {
    if (auto size = remove_abandoned_temp(path, dry_run)) {
      ++report.temp_files_removed;
      report.bytes_freed += *size;
    }
  };
  for (const auto& entry : fs::directory_iterator(store.dir())) {
    if (is_temp_name(entry.path().filename().string())) sweep_temp(entry.path());
  }
  for (const auto& alg_entry : fs::directory_iterator(store.blobs_dir())) {
    std::string alg = alg_entry.path().filename().string();
    if (!is_algorithm_dir(alg) || !alg_entry.is_directory() || alg_entry.is_symlink()) continue;
    // List first: the sweep renames entries of this very directory.
    std::vector<fs::path> files;
    for (const auto& file : fs::directory_iterator(alg_entry.path())) files.push_back(file.path());
    for (const fs::path& path : files) {
      std::string name = path.filename().string();
      if (is_temp_name(name)) {
        sweep_temp(path);
        continue;
      }
      Digest digest;
      // Anything not named by a digest is not ours to delete.
      if (!Digest::try_parse(alg + ":" + name, digest) || walk.reachable.count(digest)) continue;
      struct stat st {};
      if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      if (mtime_ns(st) > cutoff) {
        ++report.kept_recent_blobs;
        continue;
      }
      if (!dry_run) {
        // Move aside, then re-check: a put_blob that refreshed the mtime
        // before the rename shows here; one after it finds the blob absent.
        fs::path aside = alg_entry.path() / (std::string(kTempPrefix) + "gc-" + name);
        if (::rename(path.c_str(), aside.c_str()) != 0) continue;
        if (::stat(aside.c_str(), &st) == 0 && mtime_ns(st) > cutoff) {
          ::rename(aside.c_str(), path.c_str());
          ++report.kept_recent_blobs;
          continue;
        }
        if (::unlink(aside.c_str()) != 0) continue;
      }
      ++report.blobs_removed;
      report.bytes_freed += static_cast<uint64_t>(st.st_size);
    }
  }
  return report;
}

}  // namespace envbuild::registry
