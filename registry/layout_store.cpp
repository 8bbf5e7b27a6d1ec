#include "registry/layout_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "registry/atomic_file.hpp"
#include "registry/descriptor_json.hpp"
#include "registry/error.hpp"
#include "registry/media_types.hpp"

namespace envbuild::registry {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMaxIndexBytes = 64 * 1024 * 1024;
constexpr uint64_t kMaxLayoutFileBytes = 64 * 1024;
constexpr size_t kMaxRefNameLength = 1024;
constexpr size_t kCopyBufferBytes = 1 << 20;
constexpr std::string_view kLayoutFileContent = "{\"imageLayoutVersion\":\"1.0.0\"}";
constexpr std::string_view kEmptyIndex =
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
    "\"manifests\":[]}";

[[noreturn]] void bad(const fs::path& file, const std::string& what) {
  throw Error(ErrorKind::BadInput, file.string() + ": " + what);
}

std::string read_bounded(const fs::path& path, uint64_t limit) {
  FileBlobReader reader(path);
  if (reader.size() > limit) {
    bad(path, "file of " + std::to_string(reader.size()) + " bytes exceeds the limit of " +
                  std::to_string(limit));
  }
  return read_all(reader, limit);
}

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_ref_component(std::string_view c) {
  size_t i = 0;
  while (i < c.size()) {
    // An alphanumeric run, then either the end or one separator.
    size_t start = i;
    while (i < c.size() && is_alnum(c[i])) ++i;
    if (i == start) return false;
    if (i == c.size()) return true;
    if (c.substr(i, 2) == "--") {
      i += 2;
    } else if (std::string_view("-._:@+").find(c[i]) != std::string_view::npos) {
      ++i;
    } else {
      return false;
    }
    if (i == c.size()) return false;  // a separator must be followed by alphanum
  }
  return false;  // empty component
}

struct IndexFile {
  nlohmann::ordered_json doc;  // rewritten with its original field order
  std::vector<Descriptor> entries;
};

IndexFile read_index(const fs::path& path) {
  std::string text = read_bounded(path, kMaxIndexBytes);
  IndexFile out;
  out.doc = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (out.doc.is_discarded()) bad(path, "not valid JSON");
  if (!out.doc.is_object()) bad(path, "must be a JSON object");
  auto version = out.doc.find("schemaVersion");
  if (version == out.doc.end() || !version->is_number_integer() || version->get<int64_t>() != 2) {
    bad(path, "schemaVersion must be 2");
  }
  auto manifests = out.doc.find("manifests");
  if (manifests == out.doc.end() || !manifests->is_array()) bad(path, "missing 'manifests' array");
  size_t i = 0;
  for (const auto& entry : *manifests) {
    std::string where = path.string() + " manifests[" + std::to_string(i++) + "]";
    out.entries.push_back(descriptor_from_json(nlohmann::json(entry), where));
  }
  return out;
}

void check_layout_file(const fs::path& path) {
  nlohmann::json j = nlohmann::json::parse(read_bounded(path, kMaxLayoutFileBytes), nullptr,
                                           /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) bad(path, "not a JSON object");
  auto version = j.find("imageLayoutVersion");
  if (version == j.end() || !version->is_string() ||
      !version->get<std::string>().starts_with("1.")) {
    bad(path, "imageLayoutVersion must be a 1.x version string");
  }
}

const std::string* ref_name_of(const Descriptor& d) {
  auto it = d.annotations.find(std::string(kRefNameAnnotation));
  return it == d.annotations.end() ? nullptr : &it->second;
}

void check_tag(std::string_view tag, const std::string& store) {
  Digest ignored;
  if (!is_valid_ref_name(tag) || Digest::try_parse(tag, ignored)) {
    throw Error(ErrorKind::BadInput,
                "invalid tag '" + std::string(tag.substr(0, 200)) + "' for " + store +
                    ": tags must match the OCI ref.name grammar (e.g. 'v1' or 'team/env:v1') "
                    "and must not look like a digest");
  }
}

}  // namespace

bool is_valid_ref_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxRefNameLength) return false;
  size_t start = 0;
  for (;;) {
    size_t slash = name.find('/', start);
    if (!is_ref_component(name.substr(start, slash - start))) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

LayoutStore::LayoutStore(fs::path dir) : dir_(std::move(dir)) { create_or_adopt(); }

void LayoutStore::create_or_adopt() {
  std::error_code ec;
  fs::file_status status = fs::status(dir_, ec);
  if (fs::exists(status) && !fs::is_directory(status)) {
    throw Error(ErrorKind::BadInput, dir_.string() + " exists and is not a directory");
  }
  fs::path layout_file = dir_ / "oci-layout";
  if (fs::exists(layout_file, ec)) {
    check_layout_file(layout_file);
    read_index(index_path());  // validates
    if (!fs::is_directory(blobs_dir() / "sha256", ec))
      fs::create_directories(blobs_dir() / "sha256");
    return;
  }
  // No oci-layout marker: accept only an empty directory or one that a
  // creation interrupted part-way left behind (oci-layout is written last).
  if (fs::exists(status)) {
    for (const auto& entry : fs::directory_iterator(dir_)) {
      std::string name = entry.path().filename().string();
      if (name == "index.json" || name == "blobs" || name == ".lock" || is_temp_name(name))
        continue;
      throw Error(ErrorKind::BadInput, dir_.string() +
                                           " is not an OCI image layout (no oci-layout file) and "
                                           "is not empty (found '" +
                                           name + "')");
    }
  }
  fs::create_directories(dir_);
  FileLock guard = lock();
  if (fs::exists(index_path(), ec)) {
    read_index(index_path());
  } else {
    write_file_atomic(index_path(), kEmptyIndex);
  }
  fs::create_directories(blobs_dir() / "sha256");
  if (!fs::exists(layout_file, ec)) write_file_atomic(layout_file, kLayoutFileContent);
}

std::string LayoutStore::describe() const { return "oci:" + dir_.string(); }

fs::path LayoutStore::blob_path(const Digest& digest) const {
  if (digest.empty()) throw Error(ErrorKind::BadInput, "empty digest for a blob in " + describe());
  // Digest only holds validated algorithm names and lowercase hex: no escapes.
  return blobs_dir() / digest.algorithm() / digest.hex();
}

FileLock LayoutStore::lock() const { return FileLock::acquire(dir_ / ".lock"); }

std::vector<Descriptor> LayoutStore::index_entries() const {
  return read_index(index_path()).entries;
}

std::optional<int64_t> LayoutStore::stat_blob(const Digest& digest) {
  struct stat st {};
  if (::stat(blob_path(digest).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return static_cast<int64_t>(st.st_size);
}

std::unique_ptr<BlobReader> LayoutStore::open_blob(const Descriptor& descriptor) {
  fs::path path = blob_path(descriptor.digest);
  std::unique_ptr<BlobReader> file;
  try {
    file = std::make_unique<FileBlobReader>(path);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::NotFound) throw;
    throw Error(ErrorKind::NotFound,
                "blob " + descriptor.digest.str() + " not found in " + describe());
  }
  return std::make_unique<VerifyingReader>(std::move(file), descriptor.digest, descriptor.size);
}

void LayoutStore::put_blob(const Descriptor& descriptor, BlobReader& content) {
  const Digest& digest = descriptor.digest;
  fs::path path = blob_path(digest);
  if (descriptor.size < 0) {
    throw Error(ErrorKind::BadInput, "blob " + digest.str() + " has a negative descriptor size");
  }
  if (stat_blob(digest) == descriptor.size) {
    // Refresh the mtime: gc spares recent blobs, and this one is about to be
    // referenced. ENOENT means a gc just removed it, so write it again.
    if (::utimensat(AT_FDCWD, path.c_str(), nullptr, 0) == 0 || errno != ENOENT) return;
  }
  fs::create_directories(path.parent_path());
  AtomicFile file(path);  // removed by its destructor unless committed
  Hasher hasher(digest.algorithm());
  std::vector<char> buf(kCopyBufferBytes);
  const auto expected = static_cast<uint64_t>(descriptor.size);
  for (;;) {
    size_t got = content.read(buf.data(), buf.size());
    if (got == 0) break;
    if (hasher.bytes() + got > expected) {
      throw Error(ErrorKind::BadInput, "blob " + digest.str() +
                                           " rejected: content is larger than " +
                                           "its descriptor size " + std::to_string(expected));
    }
    hasher.update(buf.data(), got);
    file.write(buf.data(), got);
  }
  uint64_t total = hasher.bytes();
  Digest actual = hasher.finish();
  if (actual != digest || total != expected) {
    throw Error(ErrorKind::BadInput, "blob " + digest.str() + " rejected: content (" +
                                         std::to_string(total) + " bytes) hashes to " +
                                         actual.str() + ", descriptor size is " +
                                         std::to_string(expected));
  }
  file.commit();
}

std::optional<ManifestBytes> LayoutStore::read_manifest_blob(const Digest& digest,
                                                             std::string_view media_type) const {
  fs::path path = blob_path(digest);
  std::unique_ptr<FileBlobReader> reader;
  try {
    reader = std::make_unique<FileBlobReader>(path);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::NotFound) return std::nullopt;
    throw;
  }
  if (reader->size() > kMaxManifestBytes) {
    bad(path, "manifest " + digest.str() + " exceeds the limit of " +
                  std::to_string(kMaxManifestBytes) + " bytes");
  }
  ManifestBytes out;
  out.bytes = read_all(*reader, kMaxManifestBytes);
  Hasher hasher(digest.algorithm());
  hasher.update(out.bytes);
  Digest actual = hasher.finish();
  if (actual != digest)
    bad(path, "corrupt manifest blob " + digest.str() + ": content hashes to " + actual.str());
  out.digest = digest;
  out.media_type = std::string(media_type);
  if (out.media_type.empty()) {
    out.media_type = detect_manifest_media_type(parse_manifest_json(out.bytes, path.string()));
    if (out.media_type.empty()) bad(path, "blob " + digest.str() + " is not a manifest");
  }
  return out;
}

std::optional<ManifestBytes> LayoutStore::lookup(std::string_view tag_or_digest) {
  Digest digest;
  if (Digest::try_parse(tag_or_digest, digest)) {
    std::string media_type;
    for (const auto& entry : index_entries()) {
      if (entry.digest == digest) {
        media_type = entry.media_type;
        break;
      }
    }
    return read_manifest_blob(digest, media_type);
  }
  check_tag(tag_or_digest, describe());
  for (const auto& entry : index_entries()) {
    const std::string* name = ref_name_of(entry);
    if (!name || *name != tag_or_digest) continue;
    auto manifest = read_manifest_blob(entry.digest, entry.media_type);
    if (!manifest) {
      throw Error(ErrorKind::NotFound, "tag '" + std::string(tag_or_digest) + "' in " + describe() +
                                           " refers to missing manifest " + entry.digest.str());
    }
    return manifest;
  }
  return std::nullopt;
}

ManifestBytes LayoutStore::get_manifest(std::string_view tag_or_digest) {
  auto manifest = lookup(tag_or_digest);
  if (!manifest) {
    throw Error(ErrorKind::NotFound,
                "manifest '" + std::string(tag_or_digest) + "' not found in " + describe());
  }
  return std::move(*manifest);
}

std::optional<ManifestBytes> LayoutStore::find_manifest(std::string_view tag_or_digest) {
  try {
    return lookup(tag_or_digest);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::NotFound) return std::nullopt;
    throw;
  }
}

Digest LayoutStore::put_manifest(const ManifestBytes& manifest, std::optional<std::string> tag) {
  if (tag) check_tag(*tag, describe());
  std::string where =
      "manifest" + (tag ? " for tag '" + *tag + "'" : std::string()) + " in " + describe();
  nlohmann::json parsed = parse_manifest_json(manifest.bytes, where);  // also bounds the size
  std::string media_type =
      manifest.media_type.empty() ? detect_manifest_media_type(parsed) : manifest.media_type;
  if (!media::is_manifest(media_type)) {
    throw Error(ErrorKind::BadInput,
                where + ": unsupported manifest media type '" + media_type + "'");
  }
  Hasher hasher(manifest.digest.empty() ? std::string("sha256") : manifest.digest.algorithm());
  hasher.update(manifest.bytes);
  Digest digest = hasher.finish();
  if (!manifest.digest.empty() && digest != manifest.digest) {
    throw Error(ErrorKind::BadInput, where + ": bytes hash to " + digest.str() +
                                         ", not the stated " + manifest.digest.str());
  }
  const auto size = static_cast<int64_t>(manifest.bytes.size());

  // Under the lock a gc cannot run, so the blob written here cannot be swept
  // before its index entry lands.
  FileLock guard = lock();
  if (stat_blob(digest) != size) {
    fs::create_directories(blob_path(digest).parent_path());
    write_file_atomic(blob_path(digest), manifest.bytes);
  }
  IndexFile index = read_index(index_path());
  Descriptor entry;
  entry.media_type = media_type;
  entry.digest = digest;
  entry.size = size;
  if (tag) entry.annotations[std::string(kRefNameAnnotation)] = *tag;
  const nlohmann::ordered_json& old_list = index.doc["manifests"];
  nlohmann::ordered_json new_list = nlohmann::ordered_json::array();
  bool placed = false;
  for (size_t i = 0; i < index.entries.size(); ++i) {
    const Descriptor& e = index.entries[i];
    const std::string* name = ref_name_of(e);
    bool replaced = tag && name && *name == *tag;
    // A bare (unannotated) root for this digest is subsumed by the tagged one.
    bool subsumed = tag && !name && e.annotations.empty() && e.digest == digest;
    if (!tag && e.digest == digest) placed = true;  // already a root: nothing to add
    if (replaced && !placed) {
      new_list.push_back(descriptor_to_json(entry));  // keeps the tag's position
      placed = true;
    } else if (!replaced && !subsumed) {
      new_list.push_back(old_list[i]);
    }
  }
  if (!placed) new_list.push_back(descriptor_to_json(entry));
  if (new_list != old_list) {
    index.doc["manifests"] = std::move(new_list);
    write_file_atomic(index_path(), index.doc.dump() + "\n");
  }
  return digest;
}

std::vector<std::string> LayoutStore::list_tags() {
  std::set<std::string> tags;
  for (const auto& entry : index_entries()) {
    if (const std::string* name = ref_name_of(entry)) tags.insert(*name);
  }
  return {tags.begin(), tags.end()};
}

}  // namespace envbuild::registry
