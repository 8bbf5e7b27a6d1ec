#include "snapshot/snapshot_push.hpp"

#include <atomic>
#include <mutex>
#include <set>
#include <unordered_set>

#include "registry/descriptor_json.hpp"
#include "registry/error.hpp"
#include "registry/media_types.hpp"
#include "registry/parallel.hpp"
#include "snapshot/snapshot_build.hpp"
#include "snapshot/snapshot_file_reader.hpp"
#include "snapshot/snapshot_format.hpp"
#include "snapshot/stat_cache.hpp"
#include "snapshot/tree_memo.hpp"

namespace envbuild::snapshot {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPackMemoNote = "snapshot.pack-memo.v1";
std::string last_snapshot_note(registry::Store& store) {
  return "snapshot.last-id.v1 " + store.describe();
}

struct Known {
  std::unordered_set<registry::Digest> blobs;
  std::unordered_set<registry::Digest> manifests;
};

// What the previous snapshot of this root in this store proves present. Only
// an optimization: any failure just means "nothing known".
Known known_from_previous(registry::Store& store, const std::optional<std::string>& note) {
  Known known;
  registry::Digest previous;
  if (!note || !registry::Digest::try_parse(*note, previous)) return known;
  try {
    const auto root = store.find_manifest(previous.str());
    if (!root) return known;
    const SnapshotRoot parsed = parse_snapshot_root(*root, previous.str());
    Known found;
    for (const auto& chunk : parsed.chunks) {
      const auto children = registry::manifest_children(store.get_manifest(chunk.digest.str()));
      for (const auto& b : children.blobs) found.blobs.insert(b.digest);
      found.manifests.insert(chunk.digest);
    }
    return found;
  } catch (const Error&) {
    return known;
  }
}

registry::Descriptor chunk_descriptor(const registry::ManifestBytes& m) {
  registry::Descriptor d = blob_descriptor(m.media_type, m.digest, m.bytes.size());
  d.artifact_type = std::string(kSnapshotArtifactType);
  return d;
}

}  // namespace

PushResult push_snapshot(const fs::path& root, WalkResult& walk, registry::Store& store,
                         const PushOptions& options) {
  const size_t workers = std::max<size_t>(1, options.workers);
  const fs::path canonical = fs::canonical(root);
  const fs::path cache_file =
      options.cache_dir.empty() ? fs::path() : StatCache::file_for(options.cache_dir, canonical);
  const fs::path memo_file =
      options.cache_dir.empty() ? fs::path() : TreeMemo::file_for(options.cache_dir, canonical);

  PushResult result;
  result.ignored = walk.ignored_count;
  // The root index over the chunks, with the caller's and the tree's
  // annotations; sets the id and tag.
  auto make_root = [&](const TreeMemo& tree) {
    result.files = tree.files;
    result.bytes = tree.bytes;
    result.symlinks = tree.symlinks;
    result.directories = tree.directories;
    std::map<std::string, std::string> annotations = options.annotations;
    if (options.late_annotations)
      annotations.merge(options.late_annotations(tree.tree_root.digest));
    annotations[std::string(kTreeAnnotation)] = tree.tree_root.digest.str();
    annotations[std::string(kTreeSizeAnnotation)] = std::to_string(tree.tree_root.size);
    annotations[std::string(kFilesAnnotation)] = std::to_string(tree.files);
    annotations[std::string(kBytesAnnotation)] = std::to_string(tree.bytes);
    annotations[std::string(kSymlinksAnnotation)] = std::to_string(tree.symlinks);
    annotations[std::string(kDirectoriesAnnotation)] = std::to_string(tree.directories);
    registry::ManifestBytes root_index = encode_root_index(tree.chunks, annotations);
    if (root_index.bytes.size() > registry::kMaxManifestBytes) {
      throw Error(ErrorKind::BadInput, root.string() + ": snapshot root index of " +
                                           std::to_string(root_index.bytes.size()) +
                                           " bytes exceeds the 4 MiB manifest limit");
    }
    result.id = root_index.digest;
    result.tag = snapshot_tag(result.id);
    return root_index;
  };

  // The constant-cost path: the walk is exactly the one pushed last time
  // and the tag names the same root. No file is looked up or hashed, and
  // the stat cache is not even read. (Its note of the last snapshot per
  // store may then lag; it is only a hint of blobs a store already has,
  // and any tagged snapshot's blobs are there.)
  if (std::optional<TreeMemo> memo = memo_file.empty() ? std::nullopt : TreeMemo::load(memo_file);
      memo && memo->describes(walk)) {
    make_root(*memo);
    if (const auto existing = store.find_manifest(result.tag);
        existing && existing->digest == result.id) {
      return result;
    }
  }

  StatCache cache = cache_file.empty() ? StatCache() : StatCache::load(cache_file);
  const HashedTree hashes = hash_tree(canonical, walk, cache, workers);
  BuiltSnapshot built = build_snapshot(
      canonical, walk, hashes, cache.note(std::string(kPackMemoNote)).value_or(""), workers);
  result.hashing = hashes.stats;

  // Chunk manifests over all blobs (sorted by digest), then the root.
  TreeMemo tree;
  tree.walk = walk_fingerprint(walk);  // as hashed: hashing refreshed the stat fields
  tree.tree_root = built.tree_root;
  tree.files = built.files;
  tree.bytes = built.bytes;
  tree.symlinks = built.symlinks;
  tree.directories = built.directories;
  std::vector<registry::Digest> digests;
  for (const auto& b : built.blobs) digests.push_back(b.descriptor.digest);
  std::vector<registry::ManifestBytes> chunks;
  for (const auto& [begin, end] : chunk_ranges(digests)) {
    std::vector<registry::Descriptor> layers;
    for (size_t i = begin; i < end; ++i) layers.push_back(built.blobs[i].descriptor);
    chunks.push_back(encode_chunk_manifest(layers));
    tree.chunks.push_back(chunk_descriptor(chunks.back()));
  }
  const registry::ManifestBytes root_index = make_root(tree);

  auto remember = [&] {
    cache.set_note(std::string(kPackMemoNote), built.pack_memo);
    cache.set_note(last_snapshot_note(store), result.id.str());
    if (cache_file.empty()) return;
    cache.save(cache_file);
    // A file modified in the tick it was read in may have changed after the
    // read without its stat showing it: no memo then, as no stat cache
    // entry is trusted for it either.
    std::error_code ec;
    if (hashes.stats.racy == 0)
      tree.save(memo_file);
    else
      fs::remove(memo_file, ec);
  };

  // The tag exists and names this very root.
  if (const auto existing = store.find_manifest(result.tag);
      existing && existing->digest == result.id) {
    remember();
    return result;
  }

  const Known known = known_from_previous(store, cache.note(last_snapshot_note(store)));
  std::vector<const SnapshotBlob*> candidates;
  uint64_t total = 0;
  for (const auto& b : built.blobs) {
    if (known.blobs.count(b.descriptor.digest)) continue;
    candidates.push_back(&b);
    total += static_cast<uint64_t>(b.descriptor.size);
  }
  const SnapshotBlob config{.descriptor = empty_config_descriptor(),
                            .kind = BlobKind::Tree,
                            .bytes = std::string(kEmptyConfigBytes),
                            .has_bytes = true,
                            .members = {},
                            .file_bytes = 0};
  if (!known.blobs.count(config.descriptor.digest)) candidates.push_back(&config);

  std::mutex mutex;  // guards the counters and progress calls
  uint64_t done = 0;
  registry::run_parallel(candidates.size(), workers, [&](size_t k) {
    const SnapshotBlob& blob = *candidates[k];
    const bool present = store.stat_blob(blob.descriptor.digest).has_value();
    if (!present) {
      if (blob.kind == BlobKind::File) {
        const SourceEntry& e = walk.entries[blob.members.front()];
        SnapshotFileReader reader(canonical, e.path, blob.descriptor.digest, e.size);
        store.put_blob(blob.descriptor, reader);
      } else {
        registry::MemoryBlobReader reader(
            blob.has_bytes ? blob.bytes : read_pack(canonical, walk, hashes, blob));
        store.put_blob(blob.descriptor, reader);
      }
    }
    std::lock_guard lock(mutex);
    if (!present) {
      ++result.uploaded_blobs;
      if (blob.kind != BlobKind::Tree) {
        result.uploaded_files += blob.members.size();
        result.uploaded_bytes += blob.file_bytes;
      }
    }
    done += static_cast<uint64_t>(blob.descriptor.size);
    if (options.progress) options.progress(done, total);
  });

  // Chunks before the root: a registry checks that an index's children exist.
  std::vector<const registry::ManifestBytes*> new_chunks;
  for (const auto& c : chunks) {
    if (!known.manifests.count(c.digest)) new_chunks.push_back(&c);
  }
  registry::run_parallel(new_chunks.size(), workers,
                         [&](size_t k) { store.put_manifest(*new_chunks[k], std::nullopt); });
  store.put_manifest(root_index, result.tag);
  remember();
  return result;
}

}  // namespace envbuild::snapshot
