// Packages crafted in the test: the .conda ZIP variants real writers
// produce (stored, deflate, data descriptors, zip64), placeholders real
// test packages lack (binary), the legacy info/files + has_prefix layout,
// and hostile archives, each of which must be refused with nothing written
// outside the destination. Also: concurrent and killed extractions.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "builder/conda/package/link_package.hpp"
#include "builder/conda/package/package_archive.hpp"
#include "registry/digest.hpp"
#include "registry/error.hpp"
#include "tests/support/conda_channel.hpp"
#include "tests/support/error_kind.hpp"
#include "tests/support/files.hpp"
#include "tests/support/temp_dir.hpp"

using envbuild::ErrorKind;
using envbuild::registry::LayerEntry;
using envbuild::testing::kind_of;
using envbuild::testing::slurp;
using envbuild::testing::TempDir;
using nlohmann::json;
using namespace envbuild::builder::conda;
using namespace std::string_literals;
namespace fs = std::filesystem;

namespace {

const fs::path kZlibConda = envbuild::testing::conda_testdata_dir() /
                            "conda-format-repo/linux-64/zlib-1.2.11-h7b6447c_3.conda";
constexpr std::string_view kPh = "/opt/anaconda1anaconda2anaconda3";

// ---- tar ---------------------------------------------------------------

// One tar entry written verbatim (libarchive's writer does not sanitize), so
// hostile archives can be made.
struct TarEntry {
  std::string path;
  unsigned type = AE_IFREG;
  std::string data;
  std::string symlink;
  std::string hardlink;
  unsigned perm = 0644;
};

TarEntry F(std::string path, std::string data = "", unsigned perm = 0644) {
  return TarEntry{std::move(path), AE_IFREG, std::move(data), "", "", perm};
}
TarEntry D(std::string path) { return TarEntry{std::move(path), AE_IFDIR, "", "", "", 0755}; }
TarEntry S(std::string path, std::string target) {
  return TarEntry{std::move(path), AE_IFLNK, "", std::move(target), "", 0777};
}
TarEntry H(std::string path, std::string target) {
  return TarEntry{std::move(path), AE_IFREG, "", "", std::move(target), 0644};
}
TarEntry N(std::string path, unsigned type) {
  return TarEntry{std::move(path), type, "", "", "", 0644};
}

enum class Tz { Zstd, Bzip2, None };

la_ssize_t append_cb(struct archive*, void* ctx, const void* buf, size_t n) {
  static_cast<std::string*>(ctx)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

std::string make_tar(const std::vector<TarEntry>& entries, Tz tz) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (tz == Tz::Zstd) archive_write_add_filter_zstd(a);
  if (tz == Tz::Bzip2) archive_write_add_filter_bzip2(a);
  // No zero padding after the compressed stream (it would read as a
  // corrupt second frame).
  if (tz != Tz::None) archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open(a, &out, nullptr, append_cb, nullptr);
  for (const TarEntry& t : entries) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_copy_pathname(e, t.path.c_str());
    archive_entry_set_filetype(e, t.type);
    archive_entry_set_perm(e, t.perm);
    if (!t.symlink.empty()) archive_entry_copy_symlink(e, t.symlink.c_str());
    if (!t.hardlink.empty()) archive_entry_copy_hardlink(e, t.hardlink.c_str());
    if (t.type == AE_IFCHR) archive_entry_set_rdev(e, makedev(1, 3));
    archive_entry_set_size(e, static_cast<la_int64_t>(t.data.size()));
    EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
    if (!t.data.empty()) archive_write_data(a, t.data.data(), t.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

// ---- zip ---------------------------------------------------------------

struct ZipSpec {
  std::string name;
  std::string data;
  uint16_t method = 0;      // 0 stored, 8 deflate
  bool descriptor = false;  // sizes and CRC after the data (flag bit 3)
  bool zip64 = false;       // sizes and offset in a zip64 extra field
  bool bad_crc = false;
  uint16_t extra_flags = 0;
};

void le(std::string& s, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string deflate_raw(const std::string& in) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, in.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string make_zip(const std::vector<ZipSpec>& members, bool zip64_end = false,
                     const std::string& comment = "") {
  std::string out, central;
  for (const ZipSpec& m : members) {
    std::string body = m.method == 8 ? deflate_raw(m.data) : m.data;
    uint32_t crc = static_cast<uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(m.data.data()), static_cast<uInt>(m.data.size())));
    if (m.bad_crc) crc ^= 1;
    uint16_t flags = static_cast<uint16_t>((m.descriptor ? 8 : 0) | m.extra_flags);
    uint64_t offset = out.size();
    uint32_t small_c = m.zip64 ? 0xffffffffu : static_cast<uint32_t>(body.size());
    uint32_t small_u = m.zip64 ? 0xffffffffu : static_cast<uint32_t>(m.data.size());
    std::string local_extra;
    if (m.zip64) {
      le(local_extra, 1, 2);
      le(local_extra, 16, 2);
      le(local_extra, m.descriptor ? 0 : m.data.size(), 8);
      le(local_extra, m.descriptor ? 0 : body.size(), 8);
    }
    le(out, 0x04034b50, 4);
    le(out, m.zip64 ? 45 : 20, 2);
    le(out, flags, 2);
    le(out, m.method, 2);
    le(out, 0, 2);
    le(out, 0x21, 2);
    le(out, m.descriptor ? 0 : crc, 4);
    le(out, m.descriptor && !m.zip64 ? 0 : small_c, 4);
    le(out, m.descriptor && !m.zip64 ? 0 : small_u, 4);
    le(out, m.name.size(), 2);
    le(out, local_extra.size(), 2);
    out += m.name + local_extra + body;
    if (m.descriptor) {
      le(out, 0x08074b50, 4);
      le(out, crc, 4);
      le(out, body.size(), m.zip64 ? 8 : 4);
      le(out, m.data.size(), m.zip64 ? 8 : 4);
    }
    std::string extra;
    if (m.zip64) {
      le(extra, 1, 2);
      le(extra, 24, 2);
      le(extra, m.data.size(), 8);
      le(extra, body.size(), 8);
      le(extra, offset, 8);
    }
    le(central, 0x02014b50, 4);
    le(central, 0x031e, 2);
    le(central, m.zip64 ? 45 : 20, 2);
    le(central, flags, 2);
    le(central, m.method, 2);
    le(central, 0, 2);
    le(central, 0x21, 2);
    le(central, crc, 4);
    le(central, small_c, 4);
    le(central, small_u, 4);
    le(central, m.name.size(), 2);
    le(central, extra.size(), 2);
    le(central, 0, 2);
    le(central, 0, 2);
    le(central, 0, 2);
    le(central, 0, 4);
    le(central, m.zip64 ? 0xffffffffu : offset, 4);
    central += m.name + extra;
  }
  uint64_t cd_offset = out.size();
  out += central;
  if (zip64_end) {
    uint64_t z64 = out.size();
    le(out, 0x06064b50, 4);
    le(out, 44, 8);
    le(out, 45, 2);
    le(out, 45, 2);
    le(out, 0, 4);
    le(out, 0, 4);
    le(out, members.size(), 8);
    le(out, members.size(), 8);
    le(out, central.size(), 8);
    le(out, cd_offset, 8);
    le(out, 0x07064b50, 4);
    le(out, 0, 4);
    le(out, z64, 8);
    le(out, 1, 4);
  }
  le(out, 0x06054b50, 4);
  le(out, 0, 2);
  le(out, 0, 2);
  le(out, zip64_end ? 0xffff : members.size(), 2);
  le(out, zip64_end ? 0xffff : members.size(), 2);
  le(out, zip64_end ? 0xffffffffu : central.size(), 4);
  le(out, zip64_end ? 0xffffffffu : cd_offset, 4);
  le(out, comment.size(), 2);
  out += comment;
  return out;
}

// ---- packages ----------------------------------------------------------

std::string index_json(const std::string& name, const std::string& subdir = "linux-64",
                       const std::string& noarch = "") {
  json j = {{"name", name},      {"version", "1.0"},         {"build", "0"},
            {"build_number", 0}, {"depends", json::array()}, {"subdir", subdir}};
  if (!noarch.empty()) j["noarch"] = noarch;
  return j.dump();
}

std::string sha256(const std::string& data) {
  return envbuild::registry::Digest::sha256_of(data).hex();
}

// A paths.json entry for a file with these bytes.
json path_entry(const std::string& path, const std::string& data, const std::string& mode = "",
                const std::string& placeholder = "") {
  json p = {{"_path", path}, {"sha256", sha256(data)}, {"size_in_bytes", data.size()}};
  if (!placeholder.empty()) {
    p["prefix_placeholder"] = placeholder;
    p["file_mode"] = mode;
  }
  return p;
}

std::string paths_json(const std::vector<json>& entries) {
  return json{{"paths_version", 1}, {"paths", entries}}.dump();
}

struct CondaParts {
  std::vector<TarEntry> info;
  std::vector<TarEntry> pkg;
  std::string metadata = R"({"conda_pkg_format_version": 2})";
};

std::string make_conda(const std::string& dist, const CondaParts& parts) {
  return make_zip({{"metadata.json", parts.metadata},
                   {"info-" + dist + ".tar.zst", make_tar(parts.info, Tz::Zstd)},
                   {"pkg-" + dist + ".tar.zst", make_tar(parts.pkg, Tz::Zstd)}});
}

void spit(const fs::path& p, const std::string& data) {
  envbuild::testing::write_file(p, data, 0644);
}

PackageRecord record(const std::string& name, const std::string& fn) {
  PackageRecord r;
  r.name = name;
  r.version = "1.0";
  r.build = "0";
  r.subdir = "linux-64";
  r.filename = fn;
  return r;
}

LinkContext ctx(const std::string& prefix = "/opt/conda") {
  LinkContext c;
  c.prefix = prefix;
  c.target_subdir = "linux-64";
  c.python_version = "3.11";
  return c;
}

const LayerEntry* find(const LinkedPackage& p, const std::string& path) {
  for (const LayerEntry& e : p.entries)
    if (e.path == path) return &e;
  return nullptr;
}

std::string bytes_of(const LayerEntry& e) { return e.source.empty() ? e.content : slurp(e.source); }

// path -> "f:<mode>:<content>", "l:<target>" or "d:<mode>" for a whole tree.
std::map<std::string, std::string> listing(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    std::string rel = fs::relative(it->path(), root).string();
    struct stat st {};
    ::lstat(it->path().c_str(), &st);
    if (S_ISLNK(st.st_mode)) {
      out[rel] = "l:" + fs::read_symlink(it->path()).string();
    } else if (S_ISDIR(st.st_mode)) {
      out[rel] = "d:" + std::to_string(st.st_mode & 07777);
    } else {
      out[rel] = "f:" + std::to_string(st.st_mode & 07777) + ":" + slurp(it->path());
    }
  }
  return out;
}

// ---- good packages -------------------------------------------------------

class CondaLinkCrafted : public ::testing::Test {
 protected:
  fs::path write(const std::string& name, const std::string& bytes) {
    fs::path p = tmp_.path() / "archives" / name;
    spit(p, bytes);
    return p;
  }
  fs::path cache() const { return tmp_.path() / "pkgs"; }
  TempDir tmp_{"envbuild-conda-crafted"};
};

// A library with RPATH-like strings and a config script, both with the
// placeholder, as compiled packages have them.
CondaParts binary_package(std::string& so, std::string& script) {
  so = "\x7f"
       "ELF\x02\x01\x01\0\0\0"s +
       std::string(kPh) + "/lib\0"s + std::string(300, '\x90') + "RPATH=" + std::string(kPh) +
       "/lib:" + std::string(kPh) + "/lib64\0"s + "end" + std::string(kPh) + "/share";
  script =
      "#!/bin/sh\nprefix=" + std::string(kPh) + "\nexec " + std::string(kPh) + "/bin/foo \"$@\"\n";
  CondaParts parts;
  parts.info = {F("info/index.json", index_json("binpkg")),
                F("info/paths.json",
                  paths_json({path_entry("bin/foo-config", script, "text", std::string(kPh)),
                              path_entry("lib/libfoo.so", so, "binary", std::string(kPh)),
                              json{{"_path", "share/empty"}, {"path_type", "directory"}}}))};
  parts.pkg = {F("bin/foo-config", script, 0775), F("lib/libfoo.so", so, 0755), D("share/empty")};
  return parts;
}

TEST_F(CondaLinkCrafted, BinaryPlaceholdersKeepTheFileLength) {
  std::string so, script;
  fs::path archive =
      write("binpkg-1.0-0.conda", make_conda("binpkg-1.0-0", binary_package(so, script)));
  fs::path dir = cache() / "binpkg-1.0-0";
  extract_package(archive, dir);
  LinkedPackage pkg = link_package(dir, record("binpkg", archive.filename()), ctx(), archive);

  const LayerEntry* lib = find(pkg, "opt/conda/lib/libfoo.so");
  ASSERT_NE(lib, nullptr);
  std::string out = bytes_of(*lib);
  ASSERT_EQ(out.size(), so.size());
  EXPECT_EQ(out.find("anaconda1anaconda2anaconda3"), std::string::npos);
  size_t pad = kPh.size() - std::string_view("/opt/conda").size();
  EXPECT_NE(out.find("/opt/conda/lib\0"s + std::string(pad, '\0')), std::string::npos);
  EXPECT_NE(out.find("RPATH=/opt/conda/lib:/opt/conda/lib64\0"s + std::string(2 * pad, '\0')),
            std::string::npos);
  EXPECT_TRUE(out.ends_with("end/opt/conda/share" + std::string(pad, '\0')));
  EXPECT_EQ(lib->mode, 0755u);

  const LayerEntry* cfg = find(pkg, "opt/conda/bin/foo-config");
  ASSERT_NE(cfg, nullptr);
  EXPECT_EQ(bytes_of(*cfg), "#!/bin/sh\nprefix=/opt/conda\nexec /opt/conda/bin/foo \"$@\"\n");
  EXPECT_EQ(cfg->mode, 0755u);  // 0775 in the archive
  const LayerEntry* empty = find(pkg, "opt/conda/share/empty");
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->type, LayerEntry::Type::Directory);

  // A prefix longer than the placeholder cannot fit a binary file.
  std::string msg;
  EXPECT_EQ(kind_of(
                [&] {
                  link_package(dir, record("binpkg", archive.filename()),
                               ctx("/opt/" + std::string(40, 'x')), archive);
                },
                &msg),
            ErrorKind::BadInput);
  EXPECT_NE(msg.find("lib/libfoo.so"), std::string::npos) << msg;
  // Text files take any length.
  EXPECT_EQ(kind_of([&] {
              link_package(dir, record("binpkg", archive.filename()),
                           ctx("/opt/" + std::string(26, 'x')), archive);
            }),
            ErrorKind(0));
}

TEST_F(CondaLinkCrafted, LargeReplacedFilesAreStagedByContent) {
  std::string so, script;
  fs::path archive =
      write("binpkg-1.0-0.conda", make_conda("binpkg-1.0-0", binary_package(so, script)));
  fs::path dir = cache() / "binpkg-1.0-0";
  extract_package(archive, dir);
  LinkContext c = ctx();
  c.staging_dir = tmp_.path() / "staging";
  c.max_inline_bytes = 100;  // the script stays in memory, the library is staged
  LinkedPackage pkg = link_package(dir, record("binpkg", archive.filename()), c, archive);
  const LayerEntry* lib = find(pkg, "opt/conda/lib/libfoo.so");
  ASSERT_NE(lib, nullptr);
  ASSERT_FALSE(lib->source.empty());
  EXPECT_EQ(lib->source.parent_path(), c.staging_dir);
  std::string staged = slurp(lib->source);
  EXPECT_EQ(lib->source.filename(), "sha256-" + sha256(staged));
  EXPECT_EQ(staged.size(), so.size());
  EXPECT_TRUE(find(pkg, "opt/conda/bin/foo-config")->source.empty());
}

TEST_F(CondaLinkCrafted, LegacyPackageWithoutPathsJson) {
  std::string so = "X\0"s + std::string(kPh) + "/lib\0"s;
  std::string tool = "#!" + std::string(kPh) + "/bin/python\n";
  std::string bz2 = make_tar(
      {F("info/index.json", index_json("legacy")),
       F("info/files", "bin/tool\nlib/libold.so\nlib/libold.so.1\n"),
       F("info/has_prefix", "bin/tool\n" + std::string(kPh) + " binary lib/libold.so\n"),
       F("bin/tool", tool, 0755), F("lib/libold.so", so), S("lib/libold.so.1", "libold.so")},
      Tz::Bzip2);
  fs::path archive = write("legacy-1.0-0.tar.bz2", bz2);
  fs::path dir = cache() / "legacy-1.0-0";
  extract_package(archive, dir);
  LinkedPackage pkg = link_package(dir, record("legacy", archive.filename()), ctx(), archive);
  EXPECT_EQ(bytes_of(*find(pkg, "opt/conda/bin/tool")), "#!/opt/conda/bin/python\n");
  std::string lib = bytes_of(*find(pkg, "opt/conda/lib/libold.so"));
  EXPECT_EQ(lib.size(), so.size());
  EXPECT_TRUE(lib.starts_with("X\0/opt/conda/lib\0"s));
  const LayerEntry* link = find(pkg, "opt/conda/lib/libold.so.1");
  ASSERT_NE(link, nullptr);
  EXPECT_EQ(link->type, LayerEntry::Type::Symlink);
  EXPECT_EQ(link->link_target, "libold.so");
  EXPECT_EQ(pkg.conda_meta["files"], json::array({"bin/tool", "lib/libold.so", "lib/libold.so.1"}));
  EXPECT_EQ(pkg.conda_meta["paths_data"]["paths"][1]["file_mode"], "binary");
}

TEST_F(CondaLinkCrafted, EveryZipVariantExtractsTheSameTree) {
  std::string so, script;
  CondaParts parts = binary_package(so, script);
  std::string info = make_tar(parts.info, Tz::Zstd);
  std::string pkg = make_tar(parts.pkg, Tz::Zstd);
  std::string meta = parts.metadata;
  const std::string i = "info-binpkg-1.0-0.tar.zst", p = "pkg-binpkg-1.0-0.tar.zst";
  std::vector<std::pair<std::string, std::string>> variants = {
      {"stored", make_zip({{"metadata.json", meta}, {i, info}, {p, pkg}})},
      {"reordered-with-comment",
       make_zip({{p, pkg}, {i, info}, {"metadata.json", meta}}, false, "a zip comment")},
      {"deflate", make_zip({{"metadata.json", meta, 8}, {i, info, 8}, {p, pkg, 8}})},
      {"descriptors",
       make_zip({{"metadata.json", meta, 0, true}, {i, info, 0, true}, {p, pkg, 8, true}})},
      {"zip64", make_zip({{"metadata.json", meta, 0, false, true},
                          {i, info, 0, true, true},
                          {p, pkg, 8, false, true}},
                         true)},
      {"extra-member",
       make_zip({{"metadata.json", meta}, {"README", "ignored"}, {i, info}, {p, pkg}})},
  };
  std::map<std::string, std::string> first;
  for (const auto& [name, bytes] : variants) {
    fs::path archive = write(name + "/binpkg-1.0-0.conda", bytes);
    fs::path dir = cache() / name;
    ASSERT_EQ(kind_of([&] { extract_package(archive, dir); }), ErrorKind(0)) << name;
    auto tree = listing(dir);
    EXPECT_EQ(tree["lib/libfoo.so"], "f:493:" + so) << name;
    if (first.empty()) {
      first = tree;
    } else {
      EXPECT_EQ(tree, first) << name;
    }
  }
}

// ---- hostile archives ------------------------------------------------------

class CondaLinkHostile : public CondaLinkCrafted {
 protected:
  void SetUp() override {
    outside_ = tmp_.path() / "outside";
    fs::create_directories(outside_);
    spit(outside_ / "secret", "do not touch");
  }

  // Expects the archive to be refused with BadInput mentioning `needle`, no
  // destination, nothing new outside, and no temp folder left behind.
  void expect_refused(const fs::path& archive, const std::string& needle,
                      const ExtractOptions& options = {}) {
    fs::path dest = cache() / "victim";
    std::string msg;
    EXPECT_EQ(kind_of([&] { extract_package(archive, dest, options); }, &msg), ErrorKind::BadInput)
        << needle;
    EXPECT_NE(msg.find(needle), std::string::npos) << "message: " << msg;
    EXPECT_NE(msg.find(archive.string()), std::string::npos) << "names the archive: " << msg;
    EXPECT_FALSE(fs::exists(fs::symlink_status(dest)));
    EXPECT_EQ(listing(outside_),
              (std::map<std::string, std::string>{{"secret", "f:420:do not touch"}}));
    EXPECT_FALSE(fs::exists(tmp_.path() / "evil"));
    if (fs::exists(cache()))
      for (const auto& e : fs::directory_iterator(cache()))
        ADD_FAILURE() << "left behind: " << e.path();
  }

  fs::path conda_with_pkg(std::vector<TarEntry> pkg) {
    CondaParts parts;
    parts.info = {F("info/index.json", index_json("victim")), F("info/paths.json", paths_json({}))};
    parts.pkg = std::move(pkg);
    return write("victim-" + std::to_string(counter_++) + ".conda",
                 make_conda("victim-1.0-0", parts));
  }

  fs::path outside_;
  int counter_ = 0;
};

TEST_F(CondaLinkHostile, DotDotPaths) {
  expect_refused(conda_with_pkg({F("../outside/evil", "x")}), "'..'");
  expect_refused(conda_with_pkg({F("lib/../../../evil", "x")}), "'..'");
  expect_refused(conda_with_pkg({D("lib"), F("lib/x"), H("lib/h", "../../outside/secret")}),
                 "'..'");
}

TEST_F(CondaLinkHostile, AbsolutePaths) {
  expect_refused(conda_with_pkg({F((outside_ / "evil").string(), "x")}), "absolute");
  expect_refused(conda_with_pkg({H("h", (outside_ / "secret").string())}), "absolute");
}

TEST_F(CondaLinkHostile, WritingThroughSymlinks) {
  // A symlink out of the package, then an entry below it.
  expect_refused(conda_with_pkg({S("lib", "../../outside"), F("lib/evil", "x")}), "symlink");
  expect_refused(conda_with_pkg({S("lib", outside_.string()), F("lib/evil", "x")}), "symlink");
  expect_refused(conda_with_pkg({S("lib", outside_.string()), D("lib/sub")}), "symlink");
  expect_refused(conda_with_pkg({S("lib", outside_.string()), S("lib/l", "x")}), "symlink");
  // Replacing the link's own name with a file is a duplicate, not a write through it.
  expect_refused(conda_with_pkg({S("evil", (outside_ / "secret").string()), F("evil", "x")}),
                 "twice");
  // A hardlink to a symlink that points out (or through it) is no file of ours.
  expect_refused(conda_with_pkg({S("s", (outside_ / "secret").string()), H("h", "s")}),
                 "not a regular file");
  expect_refused(conda_with_pkg({S("d", outside_.string()), H("h", "d/secret")}), "symlink");
}

TEST_F(CondaLinkHostile, SpecialFilesAndDuplicates) {
  expect_refused(conda_with_pkg({N("dev/null", AE_IFCHR)}), "device");
  expect_refused(conda_with_pkg({N("dev/blk", AE_IFBLK)}), "device");
  expect_refused(conda_with_pkg({N("fifo", AE_IFIFO)}), "fifo");
  expect_refused(conda_with_pkg({F("bin/x", "a"), F("bin/x", "b")}), "twice");
  expect_refused(conda_with_pkg({F("bin", "a"), D("bin")}), "twice");
  expect_refused(conda_with_pkg({H("h", "not-yet")}), "not extracted");
}

TEST_F(CondaLinkHostile, InfoAndPayloadStayInTheirTars) {
  expect_refused(conda_with_pkg({F("info/index.json", index_json("other"))}), "inside info/");
  CondaParts parts;
  parts.info = {F("info/index.json", index_json("victim")), F("bin/evil", "x")};
  expect_refused(write("split.conda", make_conda("victim-1.0-0", parts)), "outside info/");
}

TEST_F(CondaLinkHostile, SizeAndCountLimits) {
  ExtractOptions small;
  small.max_file_bytes = 1024;
  expect_refused(conda_with_pkg({F("big", std::string(4096, 'z'))}), "larger than", small);
  ExtractOptions total;
  total.max_total_bytes = 1000;
  expect_refused(conda_with_pkg({F("a", std::string(600, 'a')), F("b", std::string(600, 'b'))}),
                 "size limit", total);
  ExtractOptions count;
  count.max_entries = 5;
  std::vector<TarEntry> many;
  for (int i = 0; i < 10; ++i) many.push_back(F("f" + std::to_string(i)));
  expect_refused(conda_with_pkg(many), "entries", count);
}

TEST_F(CondaLinkHostile, MalformedZips) {
  CondaParts parts;
  parts.info = {F("info/index.json", index_json("victim"))};
  std::string info = make_tar(parts.info, Tz::Zstd);
  std::string pkg = make_tar({F("bin/x", "x")}, Tz::Zstd);
  const std::string meta = R"({"conda_pkg_format_version": 2})";
  const std::string i = "info-victim-1.0-0.tar.zst", p = "pkg-victim-1.0-0.tar.zst";
  expect_refused(
      write("crc.conda",
            make_zip({{"metadata.json", meta}, {i, info}, {p, pkg, 0, false, false, true}})),
      "CRC");
  expect_refused(write("nometa.conda", make_zip({{i, info}, {p, pkg}})), "metadata.json");
  expect_refused(
      write(
          "v3.conda",
          make_zip({{"metadata.json", R"({"conda_pkg_format_version": 3})"}, {i, info}, {p, pkg}})),
      "conda_pkg_format_version");
  expect_refused(write("nopkg.conda", make_zip({{"metadata.json", meta}, {i, info}})), "pkg-");
  expect_refused(
      write("mismatch.conda",
            make_zip({{"metadata.json", meta}, {i, info}, {"pkg-other-1.0-0.tar.zst", pkg}})),
      "different packages");
  expect_refused(
      write("twice.conda",
            make_zip(
                {{"metadata.json", meta}, {i, info}, {p, pkg}, {"pkg-victim-2.0-0.tar.zst", pkg}})),
      "more than one");
  expect_refused(
      write("encrypted.conda",
            make_zip({{"metadata.json", meta}, {i, info}, {p, pkg, 0, false, false, false, 1}})),
      "encrypted");
  std::string good = make_zip({{"metadata.json", meta}, {i, info}, {p, pkg}});
  expect_refused(write("truncated.conda", good.substr(0, good.size() / 2)),
                 "end of central directory");
  expect_refused(write("empty.conda", ""), "too short");
  expect_refused(
      write("notzst.conda",
            make_zip({{"metadata.json", meta}, {i, info}, {p, make_tar({F("bin/x")}, Tz::None)}})),
      "not zstd");
  expect_refused(write("garbage.conda", std::string(200, 'G')), "end of central directory");
}

TEST_F(CondaLinkHostile, OverlappingMembersAreRefused) {
  // A member whose declared data runs over the next member's header: the
  // way small zips are made to expand into many copies of one payload.
  std::string info = make_tar({F("info/index.json", index_json("victim"))}, Tz::Zstd);
  std::string zip = make_zip({{"metadata.json", R"({"conda_pkg_format_version": 2})"},
                              {"info-victim-1.0-0.tar.zst", info},
                              {"pkg-victim-1.0-0.tar.zst", info}});
  size_t first_cd = zip.find("PK\x01\x02"s);
  size_t second_cd = zip.find("PK\x01\x02"s, first_cd + 4);
  ASSERT_NE(second_cd, std::string::npos);
  uint32_t size = 0;
  std::memcpy(&size, zip.data() + second_cd + 20, 4);
  size += 100;
  std::memcpy(zip.data() + second_cd + 20, &size, 4);  // compressed
  std::memcpy(zip.data() + second_cd + 24, &size, 4);  // uncompressed
  expect_refused(write("overlap.conda", zip), "overlap");
}

TEST_F(CondaLinkHostile, TarBz2IsHeldToTheSameRules) {
  expect_refused(
      write("bad-1.0-0.tar.bz2",
            make_tar({F("info/index.json", index_json("bad")), F("../evil", "x")}, Tz::Bzip2)),
      "'..'");
  expect_refused(
      write("plain-1.0-0.tar.bz2", make_tar({F("info/index.json", index_json("p"))}, Tz::None)),
      "bzip2");
  expect_refused(write("noinfo-1.0-0.tar.bz2", make_tar({F("bin/x", "x")}, Tz::Bzip2)),
                 "info/index.json");
}

TEST_F(CondaLinkHostile, UnknownExtensionsAndMissingArchives) {
  expect_refused(write("pkg.zip", "x"), "expected .conda or .tar.bz2");
  EXPECT_EQ(kind_of([&] { extract_package(tmp_.path() / "missing.conda", cache() / "m"); }),
            ErrorKind::NotFound);
}

TEST_F(CondaLinkHostile, LinkerRefusesTreesThatDisagreeWithPathsJson) {
  // paths.json can name a file that the payload made a symlink out of the
  // package; the linker must not read through it.
  std::string data = "x";
  CondaParts parts;
  parts.info = {
      F("info/index.json", index_json("liar")),
      F("info/paths.json", paths_json({path_entry("lib/conf/x", data, "text", std::string(kPh))}))};
  parts.pkg = {S("lib", outside_.string())};
  fs::path archive = write("liar-1.0-0.conda", make_conda("liar-1.0-0", parts));
  fs::path dir = cache() / "liar";
  extract_package(archive, dir);  // a symlink alone is fine to extract
  std::string msg;
  EXPECT_EQ(kind_of([&] { link_package(dir, record("liar", archive.filename()), ctx()); }, &msg),
            ErrorKind::BadInput);
  EXPECT_NE(msg.find("symlink"), std::string::npos) << msg;
}

// ---- concurrency and crashes ------------------------------------------------

TEST_F(CondaLinkCrafted, ConcurrentExtractionsOfOnePackageAgree) {
  fs::path dest = cache() / "zlib-1.2.11-h7b6447c_3";
  std::vector<pid_t> children;
  for (int i = 0; i < 4; ++i) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int rc = 0;
      try {
        extract_package(kZlibConda, dest);
        if (!fs::exists(dest / "lib/libz.so.1.2.11")) rc = 2;
      } catch (...) {
        rc = 1;
      }
      ::_exit(rc);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  EXPECT_EQ(fs::file_size(dest / "lib/libz.so.1.2.11"), 133384u);
  for (const auto& e : fs::directory_iterator(cache()))
    EXPECT_EQ(e.path(), dest) << "left behind: " << e.path();
}

TEST_F(CondaLinkCrafted, AbandonedTempFoldersAreRemovedAndLiveOnesKept) {
  fs::path dest = cache() / "zlib";
  fs::path dead = cache() / ".extract-zlib-0123456789abcdef";
  fs::path live = cache() / ".extract-zlib-fedcba9876543210";
  spit(dead / "lib/half", "half a package");
  spit(live / "lib/half", "in flight");
  // Another process's extraction in flight holds a flock on its folder.
  int fd = ::open(live.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  extract_package(kZlibConda, dest);
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(live / "lib/half"));
  ::close(fd);
  EXPECT_TRUE(fs::exists(dest / "info/paths.json"));
}

TEST_F(CondaLinkCrafted, AKilledExtractionLeavesNoPackage) {
  constexpr size_t kFileBytes = size_t{8} << 20;
  std::string big(kFileBytes, '\0');
  CondaParts parts;
  parts.info = {F("info/index.json", index_json("big")), F("info/paths.json", paths_json({}))};
  parts.pkg = {F("share/a", big), F("share/b", big)};
  fs::path archive = write("big-1.0-0.conda", make_conda("big-1.0-0", parts));
  fs::path dest = cache() / "big-1.0-0";
  fs::create_directories(cache());
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The kernel kills the child (SIGXFSZ) the moment a file it writes
    // passes 1 MiB: always in the middle of share/a, never before or after.
    ::signal(SIGXFSZ, SIG_DFL);
    struct rlimit no_core = {0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    struct rlimit fsize = {1 << 20, 1 << 20};
    ::setrlimit(RLIMIT_FSIZE, &fsize);
    try {
      extract_package(archive, dest);
    } catch (...) {
    }
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGXFSZ) << "status " << status;
  bool temp_left = false;
  for (const auto& e : fs::directory_iterator(cache()))
    temp_left |= e.path().filename().string().starts_with(".extract-");
  EXPECT_TRUE(temp_left) << "the child died inside its temp folder";
  EXPECT_FALSE(fs::exists(dest)) << "a killed extraction must not leave a package";
  extract_package(archive, dest);  // and the next one cleans up and completes
  EXPECT_EQ(fs::file_size(dest / "share/b"), kFileBytes);
  for (const auto& e : fs::directory_iterator(cache()))
    EXPECT_EQ(e.path(), dest) << "left behind: " << e.path();
}

}  // namespace
