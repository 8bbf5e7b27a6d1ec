#include "tests/support/base_images.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <system_error>
#include <utility>
#include <vector>

#include "registry/atomic_file.hpp"
#include "registry/blob_io.hpp"
#include "registry/copy.hpp"
#include "registry/descriptor_json.hpp"
#include "registry/error.hpp"
#include "registry/file_lock.hpp"
#include "registry/image_config.hpp"
#include "registry/layer_writer.hpp"
#include "registry/layout_store.hpp"
#include "registry/manifest.hpp"
#include "registry/media_types.hpp"
#include "registry/registry_store.hpp"
#include "registry/unique_fd.hpp"
#include "tests/support/files.hpp"
#include "tests/support/process.hpp"
#include "tests/support/registry_fixture.hpp"

namespace envbuild::testing {

namespace fs = std::filesystem;
using registry::Descriptor;
using registry::Digest;
using registry::LayerEntry;

namespace {

// Part of every recipe key: bump it when a recipe below changes, so caches
// built by older code are rebuilt instead of reused.
constexpr char kRecipeVersion[] = "envbuild test base images v1";
constexpr char kCreated[] = "1970-01-01T00:00:00Z";  // source date epoch 0
constexpr char kHostBusybox[] = "/bin/busybox";
constexpr char kDebianMirror[] = "http://deb.debian.org/debian";
constexpr char kDebianSuite[] = "bookworm";
// The cached mmdebstrap output, shared by every build of the Debian image.
constexpr char kDebianTarball[] = "mmdebstrap-bookworm-minbase.tar";
constexpr char kMarker[] = "complete";
constexpr char kBuildLog[] = "builds.log";

[[noreturn]] void fail(const std::string& message) {
  throw Error(ErrorKind::Internal, "base image fixture: " + message);
}

std::string random_hex() {
  std::random_device device;
  std::mt19937_64 random((static_cast<uint64_t>(device()) << 32) ^ device());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  uint64_t v = random();
  for (char& c : out) {
    c = kHex[v & 15];
    v >>= 4;
  }
  return out;
}

bool executable_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (dir.empty()) dir = ".";
    if (::access((fs::path(dir) / name).c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

ProcessResult run_checked(const std::vector<std::string>& argv, std::chrono::seconds timeout) {
  ProcessResult r = run_process(argv, {}, timeout);
  if (r.exit_code != 0) {
    std::string command;
    for (const auto& a : argv) command += (command.empty() ? "" : " ") + a;
    fail(command + " exited with " + std::to_string(r.exit_code) + ":\n" + r.err);
  }
  return r;
}

// ---- image assembly -------------------------------------------------------

struct ImageRecipe {
  std::string architecture = "amd64";
  std::string base_mark;
  std::vector<std::string> cmd;
  std::string history;  // created_by of the single layer
};

// Writes `entries` as a gzip layer staged at `staging`, puts it into `store`
// and removes the staged file.
registry::LayerInfo put_layer(registry::LayoutStore& store, std::vector<LayerEntry> entries,
                              const fs::path& staging) {
  registry::LayerOptions options;
  options.compression = registry::LayerOptions::Compression::Gzip;
  registry::LayerInfo layer = registry::write_layer(std::move(entries), staging, options);
  {
    registry::FileBlobReader reader(staging);
    store.put_blob(layer.blob, reader);
  }
  fs::remove(staging);
  return layer;
}

// Puts the config and manifest of a one-layer image; the manifest is tagged
// `tag` when given, else stored as a plain blob (a child of an index).
Descriptor put_image(registry::LayoutStore& store, const registry::LayerInfo& layer,
                     const ImageRecipe& recipe, const std::optional<std::string>& tag) {
  registry::ImageConfig config;
  config.architecture = recipe.architecture;
  config.os = "linux";
  config.created = kCreated;
  config.set_env(kBaseImagePath);
  config.set_env("BASE_MARK=" + recipe.base_mark);
  config.cmd = recipe.cmd;
  config.working_dir = "/";
  config.add_layer(layer.diff_id, recipe.history, kCreated);
  const std::string config_bytes = config.to_bytes();

  Descriptor config_descriptor;
  config_descriptor.media_type = std::string(registry::media::kOciConfig);
  config_descriptor.digest = Digest::sha256_of(config_bytes);
  config_descriptor.size = static_cast<int64_t>(config_bytes.size());
  registry::MemoryBlobReader config_reader(config_bytes);
  store.put_blob(config_descriptor, config_reader);

  registry::ImageManifest manifest;
  manifest.media_type = std::string(registry::media::kOciManifest);
  manifest.config = config_descriptor;
  manifest.layers.push_back(layer.blob);
  registry::ManifestBytes bytes = manifest.to_bytes();

  Descriptor out;
  out.media_type = bytes.media_type;
  out.digest = bytes.digest;
  out.size = static_cast<int64_t>(bytes.bytes.size());
  out.platform = registry::Platform{recipe.architecture, "linux", "", "", {}};
  if (tag) {
    store.put_manifest(bytes, tag);
  } else {
    registry::MemoryBlobReader reader(bytes.bytes);
    store.put_blob(out, reader);
  }
  return out;
}

// Entries for every file, directory and symlink under `root`, with their
// exact permission bits (07777: sticky /tmp and setuid programs survive,
// unlike write_layer_from_directory, which normalizes modes). Files sharing
// an inode become hardlinks. Sockets, fifos and devices are skipped and
// counted in `skipped`.
std::vector<LayerEntry> entries_from_tree(const fs::path& root, size_t& skipped) {
  std::vector<LayerEntry> entries;
  std::map<std::pair<dev_t, ino_t>, std::string> inodes;
  std::function<void(const fs::path&, const std::string&)> walk = [&](const fs::path& dir,
                                                                      const std::string& prefix) {
    for (const fs::directory_entry& child : fs::directory_iterator(dir)) {
      const fs::path& full = child.path();
      const std::string rel = prefix + full.filename().string();
      struct stat st {};
      if (::lstat(full.c_str(), &st) != 0) fail("cannot stat " + full.string());
      const uint32_t mode = static_cast<uint32_t>(st.st_mode) & 07777;
      if (S_ISDIR(st.st_mode)) {
        entries.push_back(LayerEntry::directory(rel, mode));
        walk(full, rel + "/");
      } else if (S_ISREG(st.st_mode)) {
        if (st.st_nlink > 1) {
          auto [it, fresh] = inodes.emplace(std::make_pair(st.st_dev, st.st_ino), rel);
          if (!fresh) {
            entries.push_back(LayerEntry::hardlink(rel, it->second));
            continue;
          }
        }
        entries.push_back(LayerEntry::file(rel, full, mode));
      } else if (S_ISLNK(st.st_mode)) {
        entries.push_back(LayerEntry::symlink(rel, fs::read_symlink(full).string()));
      } else {
        ++skipped;
      }
    }
  };
  walk(root, "");
  return entries;
}

std::vector<LayerEntry> busybox_entries() {
  if (!fs::is_regular_file(kHostBusybox)) {
    fail(std::string(kHostBusybox) +
         " is missing: install Debian's busybox-static (apt-get install busybox-static)");
  }
  std::vector<LayerEntry> entries = {
      LayerEntry::directory("bin"),
      LayerEntry::file("bin/busybox", kHostBusybox, 0755),
      LayerEntry::directory("etc"),
      LayerEntry::bytes("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
      LayerEntry::bytes("etc/group", "root:x:0:\n"),
      LayerEntry::directory("root", 0700),
      LayerEntry::directory("tmp", 01777),
  };
  for (const char* applet : {"sh", "ls", "cat", "echo", "env", "test", "true"}) {
    entries.push_back(LayerEntry::symlink(std::string("bin/") + applet, "busybox"));
  }
  return entries;
}

// ---- cache ----------------------------------------------------------------

// True when every manifest and blob that `tag` reaches is present with its
// stated size (sizes only: rehashing a big layer on every use costs too much;
// a full check is registry::verify).
bool layout_complete(const fs::path& layout, const std::string& tag) {
  std::error_code ec;
  if (!fs::is_regular_file(layout / "index.json", ec)) return false;
  try {
    registry::LayoutStore store(layout);
    std::optional<registry::ManifestBytes> top = store.find_manifest(tag);
    if (!top) return false;
    std::vector<registry::ManifestBytes> pending = {*top};
    while (!pending.empty()) {
      registry::ManifestBytes manifest = std::move(pending.back());
      pending.pop_back();
      registry::ManifestChildren children = registry::manifest_children(manifest);
      for (const Descriptor& child : children.manifests) {
        auto bytes = store.read_manifest_blob(child.digest, child.media_type);
        if (!bytes) return false;
        pending.push_back(std::move(*bytes));
      }
      for (const Descriptor& blob : children.blobs) {
        if (store.stat_blob(blob.digest) != blob.size) return false;
      }
    }
    return true;
  } catch (const Error&) {
    return false;
  }
}

bool entry_complete(const fs::path& entry, const std::string& key, const std::string& tag) {
  std::error_code ec;
  if (!fs::is_regular_file(entry / kMarker, ec)) return false;
  try {
    if (slurp(entry / kMarker) != key + "\n") return false;
  } catch (const std::exception&) {
    return false;
  }
  return layout_complete(entry / "layout", tag);
}

void append_build_log(const fs::path& cache, const std::string& line) {
  UniqueFd fd(::open((cache / kBuildLog).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (fd.get() < 0) fail("cannot open " + (cache / kBuildLog).string());
  const std::string text = line + "\n";
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    fail("cannot write " + (cache / kBuildLog).string());
  }
}

using BuildFn = std::function<void(registry::LayoutStore& store, const fs::path& work)>;

// The layout of cache entry `name`, "<cache>/<name>-<key prefix>/layout",
// built by `build` unless a complete one is there. All of it runs under an
// exclusive flock on "<cache>/<name>.lock", so concurrent callers (threads
// or processes) build once and the rest wait and reuse. The build happens in
// "<cache>/.building-<name>-*" (its "work" subdirectory is removed before
// the marker is written) and is renamed into place, so the entry directory
// is either absent or whole.
fs::path cached_layout(const fs::path& cache, const std::string& name, const std::string& recipe,
                       const std::string& tag, const BuildFn& build) {
  const std::string key = Digest::sha256_of(std::string(kRecipeVersion) + "\n" + recipe).hex();
  fs::create_directories(cache);
  registry::FileLock lock = registry::FileLock::acquire(cache / (name + ".lock"));
  const std::string entry_name = name + "-" + key.substr(0, 16);
  const fs::path entry = cache / entry_name;
  if (entry_complete(entry, key, tag)) return entry / "layout";

  // Only the holder of this lock builds `name`: any other directory of this
  // name is an older recipe, a broken entry or a dead builder's leftovers.
  for (const fs::directory_entry& child : fs::directory_iterator(cache)) {
    const std::string file_name = child.path().filename().string();
    if (child.is_directory() && !child.is_symlink() &&
        (file_name.starts_with(".building-" + name + "-") || file_name.starts_with(name + "-"))) {
      fs::remove_all(child.path());
    }
  }

  const auto started = std::chrono::steady_clock::now();
  const fs::path building =
      cache / (".building-" + name + "-" + std::to_string(::getpid()) + "-" + random_hex());
  try {
    fs::create_directories(building / "work");
    {
      registry::LayoutStore store(building / "layout");
      build(store, building / "work");
    }
    fs::remove_all(building / "work");
    if (!layout_complete(building / "layout", tag)) {
      fail("building " + name + " left no complete image tagged " + tag);
    }
    registry::write_file_atomic(building / kMarker, key + "\n");
    fs::rename(building, entry);
    registry::fsync_directory(cache);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(building, ec);
    throw;
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  append_build_log(cache, name + " " + key.substr(0, 16) + " pid=" + std::to_string(::getpid()) +
                              " ms=" + std::to_string(ms));
  return entry / "layout";
}

// The mmdebstrap tarball in the cache, made on first use. The caller holds
// the Debian image's lock, which also guards the tarball.
fs::path debian_rootfs_tarball(const fs::path& cache) {
  const fs::path tarball = cache / kDebianTarball;
  std::error_code ec;
  if (fs::is_regular_file(tarball, ec)) return tarball;
  if (!executable_in_path("mmdebstrap")) {
    fail(
        "mmdebstrap is not installed, and the Debian 12 base image needs it "
        "(apt-get install mmdebstrap; scripts/install-deps.sh installs it)");
  }
  // Only the lock holder writes partial tarballs: any left are a dead run's.
  for (const fs::directory_entry& child : fs::directory_iterator(cache)) {
    if (child.path().filename().string().starts_with(".building-debian-tarball-")) {
      fs::remove(child.path(), ec);
    }
  }
  // mmdebstrap picks the output format from the name; ours is explicit.
  const fs::path partial = cache / (".building-debian-tarball-" + std::to_string(::getpid()) + "-" +
                                    random_hex() + ".tar");
  try {
    ProcessResult r = run_process({"mmdebstrap", "--variant=minbase", "--format=tar", "--quiet",
                                   kDebianSuite, partial.string(), kDebianMirror},
                                  {}, std::chrono::seconds(900));
    if (r.exit_code != 0) {
      fail("mmdebstrap --variant=minbase " + std::string(kDebianSuite) + " " + partial.string() +
           " " + kDebianMirror + " exited with " + std::to_string(r.exit_code) +
           (::geteuid() == 0 ? std::string()
                             : std::string(" (not root: mmdebstrap then needs user namespaces "
                                           "and /etc/subuid; run the tests as root)")) +
           ":\n" + r.err);
    }
    if (!fs::is_regular_file(partial) || fs::file_size(partial) == 0) {
      fail("mmdebstrap succeeded but wrote no tarball at " + partial.string());
    }
    fs::rename(partial, tarball);
    registry::fsync_directory(cache);
  } catch (...) {
    fs::remove(partial, ec);
    throw;
  }
  return tarball;
}

void build_busybox(registry::LayoutStore& store, const fs::path& work) {
  registry::LayerInfo layer = put_layer(store, busybox_entries(), work / "layer");
  put_image(store, layer, {"amd64", "busybox", {"sh"}, "envbuild test fixture: busybox-static"},
            kBusyboxTag);
}

void build_multi(registry::LayoutStore& store, const fs::path& work) {
  registry::LayerInfo layer = put_layer(store, busybox_entries(), work / "layer");
  std::vector<Descriptor> children = {
      put_image(store, layer, {"amd64", "busybox", {"sh"}, "envbuild test fixture: busybox-static"},
                std::nullopt),
      put_image(store, layer, {"arm64", "arm64", {"sh"}, "envbuild test fixture: busybox-static"},
                std::nullopt),
  };
  nlohmann::ordered_json index;
  index["schemaVersion"] = 2;
  index["mediaType"] = std::string(registry::media::kOciIndex);
  index["manifests"] = nlohmann::ordered_json::array();
  for (const Descriptor& child : children) {
    index["manifests"].push_back(registry::descriptor_to_json(child));
  }
  registry::ManifestBytes bytes;
  bytes.media_type = std::string(registry::media::kOciIndex);
  bytes.bytes = index.dump();
  bytes.digest = Digest::sha256_of(bytes.bytes);
  store.put_manifest(bytes, std::string(kMultiPlatformTag));
}

std::string busybox_recipe(const std::string& name) {
  // The host binary is part of the recipe: a busybox-static upgrade rebuilds.
  if (!fs::is_regular_file(kHostBusybox)) busybox_entries();  // throws the clear message
  return name + "\nbusybox sha256 " + Digest::sha256_of(slurp(kHostBusybox)).hex();
}

}  // namespace

fs::path base_image_cache_dir() { return fs::path(ENVBUILD_BINARY_DIR) / "test-cache/base-images"; }

fs::path busybox_image_layout() { return busybox_image_layout(base_image_cache_dir()); }

fs::path busybox_image_layout(const fs::path& cache_dir) {
  return cached_layout(cache_dir, "busybox", busybox_recipe("busybox"), kBusyboxTag, build_busybox);
}

fs::path multi_platform_index_layout() {
  return multi_platform_index_layout(base_image_cache_dir());
}

fs::path multi_platform_index_layout(const fs::path& cache_dir) {
  return cached_layout(cache_dir, "multi", busybox_recipe("multi"), kMultiPlatformTag, build_multi);
}

fs::path debian_image_layout() { return debian_image_layout(base_image_cache_dir()); }

fs::path debian_image_layout(const fs::path& cache_dir) {
  const std::string recipe = std::string("debian\nmmdebstrap --variant=minbase ") + kDebianSuite +
                             " " + kDebianMirror + "\nminus /dev/*";
  return cached_layout(
      cache_dir, "debian", recipe, kDebianTag,
      [&](registry::LayoutStore& store, const fs::path& work) {
        const fs::path tarball = debian_rootfs_tarball(cache_dir);
        const fs::path rootfs = work / "rootfs";
        fs::create_directories(rootfs);
        // /dev holds device nodes: they cannot go into a layer and only root
        // may create them, so they are not extracted at all.
        run_checked({"tar", "--extract", "--file", tarball.string(), "--directory", rootfs.string(),
                     "--same-permissions", "--numeric-owner", "--exclude=./dev/*"},
                    std::chrono::seconds(300));
        // Anything special elsewhere (GNU tar stores no sockets; mmdebstrap
        // makes no fifos today) is skipped the same way.
        size_t skipped = 0;
        std::vector<LayerEntry> entries = entries_from_tree(rootfs, skipped);
        registry::LayerInfo layer = put_layer(store, std::move(entries), work / "layer");
        fs::remove_all(rootfs);
        put_image(store, layer,
                  {"amd64", "debian", {"bash"}, "envbuild test fixture: mmdebstrap minbase"},
                  kDebianTag);
      });
}

std::string push_layout_image(const fs::path& layout, const std::string& tag,
                              const RegistryFixture& registry, const std::string& repository) {
  const size_t colon = tag.rfind(':');
  const std::string registry_tag = colon == std::string::npos ? tag : tag.substr(colon + 1);
  registry::RegistryOptions options;
  options.docker_config_dir = registry.options().auth == RegistryAuth::None
                                  ? fs::path("/nonexistent-envbuild-docker-config")
                                  : registry.docker_config_dir();
  registry::LayoutStore source(layout);
  registry::RegistryStore destination({registry.host(), repository}, options);
  registry::copy_image(source, tag, destination, registry_tag);
  return registry.host() + "/" + repository + ":" + registry_tag;
}

}  // namespace envbuild::testing
