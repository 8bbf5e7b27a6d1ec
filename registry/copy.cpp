#include "registry/copy.hpp"

#include <mutex>
#include <set>
#include <vector>

#include "registry/descriptor_json.hpp"
#include "registry/error.hpp"
#include "registry/parallel.hpp"

namespace envbuild::registry {

namespace {

// Counts bytes as the destination pulls them, for progress.
class CountingReader : public BlobReader {
 public:
  CountingReader(BlobReader& inner, TransferObserver* observer)
      : inner_(inner), observer_(observer) {}
  size_t read(char* buf, size_t n) override {
    size_t got = inner_.read(buf, n);
    if (observer_ && got) observer_->transferred(got);
    return got;
  }
  void seek(uint64_t offset) override { inner_.seek(offset); }
  uint64_t size() const override { return inner_.size(); }

 private:
  BlobReader& inner_;
  TransferObserver* observer_;
};

// Splits "host/repo/path" into host and repository path.
std::pair<std::string, std::string> split_registry_repository(const std::string& s) {
  auto slash = s.find('/');
  if (slash == std::string::npos) return {s, {}};
  return {s.substr(0, slash), s.substr(slash + 1)};
}

struct Plan {
  // Manifests in the order they must be written: children before parents.
  std::vector<std::pair<ManifestBytes, std::optional<std::string>>> manifests;
  std::vector<Descriptor> blobs;  // unique by digest
};

void collect(Store& src, const ManifestBytes& manifest, Plan& plan, std::set<Digest>& seen_blobs,
             std::set<Digest>& seen_manifests, int depth) {
  if (depth > 4) {
    throw Error(ErrorKind::BadInput,
                "manifest " + manifest.digest.str() + ": indexes nested too deeply");
  }
  ManifestChildren children = manifest_children(manifest);
  for (const Descriptor& child : children.manifests) {
    if (!seen_manifests.insert(child.digest).second) continue;
    ManifestBytes bytes = src.get_manifest(child.digest.str());
    if (static_cast<int64_t>(bytes.bytes.size()) != child.size) {
      throw Error(ErrorKind::BadInput, "manifest " + child.digest.str() + " has size " +
                                           std::to_string(bytes.bytes.size()) +
                                           ", its descriptor says " + std::to_string(child.size));
    }
    if (bytes.media_type.empty()) bytes.media_type = child.media_type;
    collect(src, bytes, plan, seen_blobs, seen_manifests, depth + 1);
    plan.manifests.emplace_back(std::move(bytes), std::nullopt);
  }
  for (const Descriptor& blob : children.blobs) {
    if (seen_blobs.insert(blob.digest).second) plan.blobs.push_back(blob);
  }
}

}  // namespace

void copy_blobs(Store& src, Store& dst, const std::vector<Descriptor>& blobs,
                const CopyOptions& options, CopyResult& result) {
  uint64_t total = 0;
  for (const auto& b : blobs) total += static_cast<uint64_t>(b.size);
  if (options.observer) options.observer->planned(blobs.size(), total);

  auto [src_host, src_repo] = split_registry_repository(src.registry_repository());
  auto [dst_host, dst_repo] = split_registry_repository(dst.registry_repository());
  bool can_mount = !src_repo.empty() && src_host == dst_host && src_repo != dst_repo;

  std::mutex result_mutex;
  run_parallel(blobs.size(), options.parallel, [&](size_t i) {
    const Descriptor& blob = blobs[i];
    BlobAction action = BlobAction::Copied;
    if (auto size = dst.stat_blob(blob.digest)) {
      if (*size != blob.size) {
        throw Error(ErrorKind::BadInput, "destination " + dst.describe() + " holds blob " +
                                             blob.digest.str() + " with size " +
                                             std::to_string(*size) + ", expected " +
                                             std::to_string(blob.size));
      }
      action = BlobAction::Skipped;
    } else if (can_mount && dst.mount_blob(blob, src_repo)) {
      action = BlobAction::Mounted;
    } else {
      auto reader = src.open_blob(blob);
      CountingReader counting(*reader, options.observer);
      dst.put_blob(blob, counting);
    }
    if (options.observer) options.observer->blob_done(blob, action);
    std::lock_guard lock(result_mutex);
    switch (action) {
      case BlobAction::Copied:
        ++result.blobs_copied;
        result.bytes_copied += static_cast<uint64_t>(blob.size);
        break;
      case BlobAction::Skipped:
        ++result.blobs_skipped;
        break;
      case BlobAction::Mounted:
        ++result.blobs_mounted;
        break;
    }
  });
}

CopyResult copy_image(Store& src, std::string_view src_ref, Store& dst,
                      const std::optional<std::string>& dst_tag, const CopyOptions& options) {
  ManifestBytes top = src.get_manifest(src_ref);
  CopyResult result;
  result.digest = top.digest;
  result.media_type = top.media_type;
  result.size = top.bytes.size();

  // Fast path for a repeated push: a registry only accepts a manifest whose
  // blobs it holds, so if it has this exact manifest, only the tag is left.
  bool dst_is_registry = !dst.registry_repository().empty();
  if (dst_is_registry && dst.find_manifest(top.digest.str())) {
    if (options.observer) options.observer->planned(0, 0);
    if (dst_tag) dst.put_manifest(top, dst_tag);
    result.manifests = dst_tag ? 1 : 0;
    return result;
  }

  Plan plan;
  std::set<Digest> seen_blobs, seen_manifests{top.digest};
  collect(src, top, plan, seen_blobs, seen_manifests, 0);
  plan.manifests.emplace_back(top, dst_tag);

  copy_blobs(src, dst, plan.blobs, options, result);

  for (const auto& [manifest, tag] : plan.manifests) {
    dst.put_manifest(manifest, tag);
    ++result.manifests;
  }
  return result;
}

}  // namespace envbuild::registry
