// envbuild create with conda packages, end to end: channels over file:// and
// loopback HTTP (conda's own test packages, the zlib repository, generated
// channels), into the local store and a real docker-registry, unpacked with
// umoci, and a script from an installed package run inside the rootfs.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <set>

#include "registry/layout_store.hpp"
#include "registry/manifest.hpp"
#include "tests/support/base_images.hpp"
#include "tests/support/conda_channel.hpp"
#include "tests/support/files.hpp"
#include "tests/support/process.hpp"
#include "tests/support/registry_fixture.hpp"
#include "tests/support/static_http_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/umoci_unpack.hpp"

namespace fs = std::filesystem;
using namespace envbuild::testing;
using nlohmann::json;

namespace {

class CondaCreate : public ::testing::Test {
 protected:
  TempDir tmp{"conda-create"};
  fs::path store() const { return tmp.path() / "store"; }

  ProcessResult envbuild(std::vector<std::string> args,
                         std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), ENVBUILD_BIN);
    env.emplace("ENVBUILD_HOME", store().string());
    env.emplace("ENVBUILD_CACHE_DIR", (tmp.path() / "cache").string());
    env.emplace("SOURCE_DATE_EPOCH", "");
    return run_process(args, env);
  }
  json create(std::vector<std::string> args, int expected_exit = 0) {
    args.insert(args.begin(), {"--json", "create"});
    ProcessResult r = envbuild(args);
    EXPECT_EQ(r.exit_code, expected_exit) << r.err;
    if (r.exit_code != 0) return json{{"error", r.err}};
    return json::parse(r.out, nullptr, false);
  }
  std::string definition(const std::string& name, const std::string& text) {
    write_file(tmp.path() / name, text);
    return (tmp.path() / name).string();
  }
  UnpackedImage unpack(const json& built, const std::string& dir) {
    return umoci_unpack(store(), "env-" + built["spec_hash"].get<std::string>(), tmp.path() / dir);
  }
  static std::string busybox_oci() {
    return "oci:" + busybox_image_layout().string() + ":" + kBusyboxTag;
  }
};

PackageSpec package(const std::string& name, const std::string& version,
                    const std::string& subdir) {
  PackageSpec spec;
  spec.name = name;
  spec.version = version;
  spec.subdir = subdir;
  return spec;
}

std::string recipes() { return "file://" + (conda_testdata_dir() / "conda-test-recipes").string(); }

std::vector<std::string> layer_digests(const fs::path& layout, const std::string& tag) {
  envbuild::registry::LayoutStore store(layout);
  const auto m = envbuild::registry::ImageManifest::parse(store.get_manifest(tag));
  std::vector<std::string> out;
  for (const auto& l : m.layers) out.push_back(l.digest.str());
  return out;
}

}  // namespace

// conda's own test packages over file://: dependencies, noarch python, a
// small executable; one layer per package; conda-meta records and history.
TEST_F(CondaCreate, TestRecipesOverFileChannel) {
  const std::string def =
      definition("env.yml", "name: recipes\nchannels: [" + recipes() +
                                "]\ndependencies:\n  - dependent\n"
                                "  - small-executable\n  - sample_noarch_python\n"
                                "variables:\n  RECIPES: yes\n");
  const json built = create({def, "--conda-subdir", "linux-fake", "--base", busybox_oci()});
  ASSERT_EQ(built["outcome"], "built") << built.dump();
  const std::string hash = built["spec_hash"];
  ASSERT_EQ(built["conda"]["packages"].size(), 5u) << built.dump();
  EXPECT_EQ(built["conda"]["layers"], 5);
  EXPECT_EQ(built["conda"]["downloaded"], 5);  // file:// archives placed into the package cache
  std::set<std::string> names;
  for (const auto& p : built["conda"]["packages"]) names.insert(p["name"].get<std::string>());
  EXPECT_TRUE(names.count("dependency")) << built.dump();
  // base + 5 packages (dependent, dependency, python, sample_noarch_python,
  // small-executable) + the metadata layer.
  EXPECT_EQ(layer_digests(store(), "env-" + hash).size(), 1u + 5u + 1u);

  const UnpackedImage u = unpack(built, "u");
  const fs::path prefix = u.rootfs / "opt/conda";
  EXPECT_TRUE(fs::exists(u.rootfs / "bin/busybox"));
  EXPECT_TRUE(fs::exists(prefix / "bin/small"));
  // The test channel's python names its site-packages (CEP 20).
  EXPECT_TRUE(fs::exists(prefix / "lib/python3.99t/site-packages/sample.py"));
  EXPECT_FALSE(fs::exists(prefix / "lib/python3.99/site-packages/sample.py"));
  for (const char* dist : {"dependent-2.0-0", "dependency-2.0-0", "python-3.99.99-0",
                           "sample_noarch_python-1.0-py_0", "small-executable-1.0-0"}) {
    const fs::path meta = prefix / "conda-meta" / (std::string(dist) + ".json");
    ASSERT_TRUE(fs::exists(meta)) << dist;
    const json record = json::parse(slurp(meta));
    for (const char* field : {"name", "version", "build", "build_number", "channel", "subdir", "fn",
                              "url", "sha256", "size", "depends", "files", "paths_data", "link"})
      EXPECT_TRUE(record.contains(field)) << dist << " lacks " << field;
  }
  EXPECT_EQ(json::parse(slurp(prefix / "conda-meta/dependent-2.0-0.json"))["requested_spec"],
            "dependent");
  const std::string history = slurp(prefix / "conda-meta/history");
  EXPECT_NE(history.find("::small-executable-1.0-0"), std::string::npos) << history;
  EXPECT_EQ(json::parse(slurp(prefix / "conda-meta/state"))["env_vars"]["RECIPES"], "yes");
  std::set<std::string> env;
  for (const auto& e : u.config["process"]["env"]) env.insert(e.get<std::string>());
  EXPECT_TRUE(env.count("CONDA_PREFIX=/opt/conda"));
  EXPECT_TRUE(env.count("RECIPES=yes"));
  bool path_first = false;
  for (const std::string& e : env) path_first |= e.rfind("PATH=/opt/conda/bin:", 0) == 0;
  EXPECT_TRUE(path_first);
  const json lock = json::parse(slurp(u.rootfs / "etc/envbuild/lock.json"));
  EXPECT_EQ(lock["packages"].size(), 5u);

  // Again: a cache hit, no solve.
  EXPECT_EQ(create({def, "--conda-subdir", "linux-fake", "--base", busybox_oci()})["outcome"],
            "cache-hit");
}

// Unsatisfiable requests explain themselves; link scripts are refused unless
// skipped; clobbers are reported in the build log.
TEST_F(CondaCreate, UnsatisfiableLinkScriptsAndClobbers) {
  const std::string unsat =
      definition("unsat.yml", "channels: [" + recipes() +
                                  "]\ndependencies:\n  - dependent=1.0\n  - dependency=2.0\n");
  ProcessResult r =
      envbuild({"create", unsat, "--conda-subdir", "linux-fake", "--base", "scratch"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot satisfy"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("dependency"), std::string::npos) << r.err;
  ProcessResult missing = envbuild(
      {"create",
       definition("m.yml", "channels: [" + recipes() + "]\ndependencies: [no-such-package]\n"),
       "--conda-subdir", "linux-fake", "--base", "scratch"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no-such-package"), std::string::npos) << missing.err;

  const std::string post =
      definition("post.yml", "channels: [" + recipes() + "]\ndependencies: [post_link-c]\n");
  ProcessResult refused =
      envbuild({"create", post, "--conda-subdir", "linux-fake", "--base", "scratch"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("--skip-post-link"), std::string::npos) << refused.err;
  const json skipped =
      create({post, "--conda-subdir", "linux-fake", "--base", "scratch", "--skip-post-link"});
  EXPECT_EQ(skipped["outcome"], "built");

  const std::string clobber = definition(
      "clobber.yml", "channels: [" + recipes() + "]\ndependencies: [clobber-a, clobber-b]\n");
  ProcessResult clobbered = envbuild({"create", clobber, "--conda-subdir", "linux-fake", "--base",
                                      "scratch", "--log", (tmp.path() / "clobber.log").string()});
  ASSERT_EQ(clobbered.exit_code, 0) << clobbered.err;
  EXPECT_NE(slurp(tmp.path() / "clobber.log").find("clobber: "), std::string::npos);
}

// The zlib repository (.conda and .tar.bz2 with text and binary placeholders
// and symlinks) over loopback HTTP, pushed to a registry; the lock written
// out and read back builds the same image.
TEST_F(CondaCreate, ZlibOverHttpIntoARegistryWithLockRoundTrip) {
  StaticHttpServer server(conda_testdata_dir());
  RegistryFixture registry;
  const std::string channel =
      "http://127.0.0.1:" + std::to_string(server.port()) + "/conda-format-repo";
  // The repository lists zlib's libgcc-ng without shipping it: a generated
  // channel ahead of it provides one.
  CondaChannel runtime(tmp.path() / "runtime");
  PackageSpec libgcc = package("libgcc-ng", "8.2.0", "linux-64");
  libgcc.build = "hdf63c60_1";
  libgcc.files = {PackageFile::text("lib/libgcc_s.so.1", "not really libgcc\n")};
  runtime.add(libgcc);
  runtime.write_repodata();
  const std::string def = definition(
      "zlib.yml", "channels: [" + runtime.url() + ", " + channel + "]\ndependencies: [zlib]\n");
  const std::string repo = registry.host() + "/envs/zlib";
  const json built = create({def, "--base", busybox_oci(), "--push", repo, "--lock-out",
                             (tmp.path() / "zlib.lock").string()});
  ASSERT_EQ(built["outcome"], "built") << built.dump();
  const std::string lock_text = slurp(tmp.path() / "zlib.lock");
  EXPECT_NE(lock_text.find("@EXPLICIT"), std::string::npos);
  EXPECT_NE(lock_text.find("zlib-1.2.11-h7b6447c_3.conda#sha256:"), std::string::npos) << lock_text;
  EXPECT_GT(server.requests("/conda-format-repo/linux-64/zlib-1.2.11-h7b6447c_3.conda"), 0u);

  ProcessResult pulled =
      run_process({"skopeo", "copy", "--src-tls-verify=false",
                   "docker://" + repo + ":env-" + built["spec_hash"].get<std::string>(),
                   "oci:" + (tmp.path() / "pulled").string() + ":z"});
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  const UnpackedImage u = umoci_unpack(tmp.path() / "pulled", "z", tmp.path() / "z");
  const fs::path prefix = u.rootfs / "opt/conda";
  ASSERT_TRUE(fs::is_symlink(prefix / "lib/libz.so"));
  EXPECT_TRUE(fs::exists(prefix / "lib/libz.so.1.2.11"));
  const std::string pc = slurp(prefix / "lib/pkgconfig/zlib.pc");
  EXPECT_NE(pc.find("prefix=/opt/conda"), std::string::npos) << pc;
  EXPECT_EQ(pc.find("anaconda1anaconda2anaconda3"), std::string::npos);
  EXPECT_EQ(pc.find("placehold"), std::string::npos);

  // The same lock, read back instead of solving, gives the same image.
  const json relocked =
      create({def, "--base", busybox_oci(), "--lock", (tmp.path() / "zlib.lock").string()});
  ASSERT_EQ(relocked["outcome"], "built") << relocked.dump();
  EXPECT_EQ(relocked["conda"]["downloaded"], 0) << "the package cache serves the second build";
  // busybox, libgcc-ng, zlib, metadata: the package layers are the same.
  const auto again = layer_digests(store(), "env-" + relocked["spec_hash"].get<std::string>());
  const auto first = layer_digests(tmp.path() / "pulled", "z");
  ASSERT_EQ(again.size(), 4u);
  ASSERT_EQ(first.size(), 4u);
  EXPECT_EQ(again[1], first[1]);
  EXPECT_EQ(again[2], first[2]);
}

// A generated channel: a shell tool whose script carries the prefix, a
// library shared by two environments (one layer blob for both), and the
// tool run inside the unpacked rootfs.
TEST_F(CondaCreate, GeneratedChannelSharedLayersAndARunnableTool) {
  CondaChannel channel(tmp.path() / "channel");
  PackageSpec lib = package("libgreet", "1.0", "linux-64");
  lib.files = {
      PackageFile::with_prefix("share/greet/prefix.txt", "installed at " + kPlaceholder + "\n")};
  channel.add(lib);
  PackageSpec tool = package("greet", "2.1", "linux-64");
  tool.depends = {"libgreet >=1"};
  tool.files = {PackageFile::with_prefix(
      "bin/greet",
      "#!/bin/sh\necho \"hello from $(cat " + kPlaceholder + "/share/greet/prefix.txt)\"\n",
      FileMode::Text, kPlaceholder, 0755)};
  channel.add(tool);
  PackageSpec other = package("other", "1.0", "noarch");
  other.noarch = "generic";
  other.depends = {"libgreet"};
  other.files = {PackageFile::text("share/other.txt", "other\n")};
  channel.add(other);
  channel.write_repodata();

  const std::string a =
      definition("a.yml", "channels: [" + channel.url() + "]\ndependencies: [greet]\n");
  const std::string b = definition(
      "b.yml", "channels: [" + channel.url() + "]\ndependencies: [other, \"libgreet >=1\"]\n");
  const json built_a = create({a, "--base", busybox_oci()});
  const json built_b = create({b, "--base", busybox_oci()});
  ASSERT_EQ(built_a["outcome"], "built") << built_a.dump();
  ASSERT_EQ(built_b["outcome"], "built") << built_b.dump();
  const auto la = layer_digests(store(), "env-" + built_a["spec_hash"].get<std::string>());
  const auto lb = layer_digests(store(), "env-" + built_b["spec_hash"].get<std::string>());
  // busybox, libgreet, greet, metadata / busybox, libgreet, other, metadata
  ASSERT_EQ(la.size(), 4u);
  ASSERT_EQ(lb.size(), 4u);
  // Requested in b, a dependency in a: its conda-meta record differs, its
  // layer does not (the records live in the metadata layer).
  EXPECT_EQ(la[1], lb[1]) << "the libgreet layer is shared";
  EXPECT_NE(la[2], lb[2]);

  const UnpackedImage u = unpack(built_a, "greet");
  EXPECT_EQ(slurp(u.rootfs / "opt/conda/share/greet/prefix.txt"), "installed at /opt/conda\n");
  if (::geteuid() == 0) {
    ProcessResult ran = run_process({"chroot", u.rootfs.string(), "/opt/conda/bin/greet"});
    EXPECT_EQ(ran.exit_code, 0) << ran.err;
    EXPECT_EQ(ran.out, "hello from installed at /opt/conda\n");
  } else {
    // Without root there is no chroot; the script's text still shows the prefix.
    EXPECT_NE(slurp(u.rootfs / "opt/conda/bin/greet").find("/opt/conda/share"), std::string::npos);
  }
}

// A private channel behind an anaconda.org-style token: repodata and
// packages are fetched with it, and it appears nowhere: not in the output,
// the build log, the lock, the image or the caches.
TEST_F(CondaCreate, TokenChannelNeverLeaksItsToken) {
  const std::string secret = "tk-PRIVATE-9731";
  CondaChannel channel(tmp.path() / "srv" / "private");
  PackageSpec tool = package("secret-tool", "1.0", "linux-64");
  tool.files = {PackageFile::text("share/secret-tool.txt", "tool\n")};
  channel.add(tool);
  channel.write_repodata();
  StaticHttpServer server(tmp.path() / "srv");
  server.require_token(secret);
  const std::string def = definition("private.yml", "channels: [" + server.url() + "/t/" + secret +
                                                        "/private]\ndependencies: [secret-tool]\n");
  ProcessResult r = envbuild({"--json", "create", def, "--base", busybox_oci(), "--log",
                              (tmp.path() / "build.log").string(), "--lock-out",
                              (tmp.path() / "private.lock").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(server.requests("/private/linux-64/secret-tool-1.0-0.conda", 200), 0u);
  EXPECT_EQ(r.out.find(secret), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find(secret), std::string::npos) << r.err;
  const json built = json::parse(r.out);
  const UnpackedImage u = unpack(built, "private");
  EXPECT_TRUE(fs::exists(u.rootfs / "opt/conda/share/secret-tool.txt"));
  for (const fs::path& root : {tmp.path() / "build.log", tmp.path() / "private.lock",
                               tmp.path() / "cache", u.rootfs / "opt/conda", store()}) {
    std::vector<fs::path> files;
    if (fs::is_regular_file(root)) {
      files.push_back(root);
    } else {
      for (const auto& e : fs::recursive_directory_iterator(root)) {
        EXPECT_EQ(e.path().string().find(secret), std::string::npos) << e.path();
        if (e.is_regular_file() && !e.is_symlink()) files.push_back(e.path());
      }
    }
    for (const fs::path& f : files) {
      EXPECT_EQ(slurp(f).find(secret), std::string::npos) << f;
    }
  }
  // Without the token the channel refuses: exit 3, and still no token.
  ProcessResult anonymous =
      envbuild({"create",
                definition("anon.yml", "channels: [" + server.url() +
                                           "/private]\ndependencies: [secret-tool]\n"),
                "--base", busybox_oci()});
  EXPECT_EQ(anonymous.exit_code, 3) << anonymous.err;
}

// --pin limits a package without asking for it, is part of the spec hash, and
// is kept in conda-meta/pinned for conda run in the image later.
TEST_F(CondaCreate, PinsLimitWhatIsInstalled) {
  CondaChannel channel(tmp.path() / "channel");
  for (const char* version : {"1.0", "2.0"}) {
    PackageSpec lib = package("libpin", version, "noarch");
    lib.files = {PackageFile::text("share/libpin.txt", std::string(version) + "\n")};
    channel.add(lib);
  }
  PackageSpec app = package("pinapp", "1.0", "noarch");
  app.depends = {"libpin >=1"};
  channel.add(app);
  channel.write_repodata();
  const std::string def =
      definition("pin.yml", "channels: [" + channel.url() + "]\ndependencies: [pinapp]\n");
  const json plain = create({def, "--base", "scratch"});
  const json pinned = create({def, "--base", "scratch", "--pin", "libpin<2", "--pin", "nothing=1"});
  ASSERT_EQ(plain["outcome"], "built") << plain.dump();
  ASSERT_EQ(pinned["outcome"], "built") << pinned.dump();
  EXPECT_NE(plain["spec_hash"], pinned["spec_hash"]);
  EXPECT_EQ(slurp(unpack(plain, "plain").rootfs / "opt/conda/share/libpin.txt"), "2.0\n");
  const UnpackedImage u = unpack(pinned, "pinned");
  EXPECT_EQ(slurp(u.rootfs / "opt/conda/share/libpin.txt"), "1.0\n");
  EXPECT_FALSE(fs::exists(u.rootfs / "opt/conda/conda-meta/nothing-1.0-0.json"));
  EXPECT_EQ(slurp(u.rootfs / "opt/conda/conda-meta/pinned"), "libpin[version='<2']\nnothing=1\n");

  ProcessResult bad = envbuild({"create", def, "--base", "scratch", "--pin", "libpin >=>1"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("--pin libpin >=>1"), std::string::npos) << bad.err;
}

// Three creates at once over loopback HTTP, sharing one package cache and
// one store: one download per package, one digest, a valid store.
TEST_F(CondaCreate, ConcurrentCreatesShareThePackageCache) {
  CondaChannel channel(tmp.path() / "srv" / "chan");
  std::vector<std::string> names = channel.add_payload(12, 512 * 1024, "race");
  channel.write_repodata();
  StaticHttpServer server(tmp.path() / "srv");
  server.set_rate(8 << 20);  // slow enough that the builds overlap
  std::string deps;
  for (const std::string& n : names) deps += (deps.empty() ? "" : ", ") + n;
  const std::string def = definition(
      "race.yml", "channels: [" + server.url() + "/chan]\ndependencies: [" + deps + "]\n");
  std::vector<ChildProcess> children;
  for (int i = 0; i < 3; ++i) {
    children.push_back(spawn_process({ENVBUILD_BIN, "--json", "create", def, "--base", "scratch"},
                                     {{"ENVBUILD_HOME", store().string()},
                                      {"ENVBUILD_CACHE_DIR", (tmp.path() / "cache").string()},
                                      {"SOURCE_DATE_EPOCH", ""}},
                                     tmp.path() / ("out" + std::to_string(i))));
  }
  std::set<std::string> digests;
  for (int i = 0; i < 3; ++i) {
    const fs::path out_file = tmp.path() / ("out" + std::to_string(i));
    EXPECT_EQ(children[i].wait(), 0) << slurp(out_file);
    const std::string out = slurp(out_file);
    const json j = json::parse(out.substr(std::min(out.find('{'), out.size())), nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << out;
    digests.insert(j["digest"].get<std::string>());
  }
  EXPECT_EQ(digests.size(), 1u);
  for (const std::string& n : names) {
    EXPECT_EQ(server.requests("/chan/linux-64/" + n + "-1.0-0.conda", 200), 1u) << n;
  }
  ProcessResult verify = envbuild({"store", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

// A create killed in the middle of its downloads leaves a valid store and
// cache; the next run completes the environment and fetches only what the
// killed one had not finished.
TEST_F(CondaCreate, KilledCreateIsCompletedByTheNextRun) {
  CondaChannel channel(tmp.path() / "srv" / "chan");
  std::vector<std::string> names = channel.add_payload(8, 1 << 20, "slow");
  channel.write_repodata();
  StaticHttpServer server(tmp.path() / "srv");
  server.set_rate(2 << 20);  // 2 MiB/s per transfer: the download takes seconds
  std::string deps;
  for (const std::string& n : names) deps += (deps.empty() ? "" : ", ") + n;
  const std::string def = definition(
      "slow.yml", "channels: [" + server.url() + "/chan]\ndependencies: [" + deps + "]\n");
  const std::map<std::string, std::string> env = {
      {"ENVBUILD_HOME", store().string()},
      {"ENVBUILD_CACHE_DIR", (tmp.path() / "cache").string()},
      {"SOURCE_DATE_EPOCH", ""}};
  ChildProcess child = spawn_process({ENVBUILD_BIN, "create", def, "--base", "scratch"}, env,
                                     tmp.path() / "killed.out");
  // Wait until the downloads are under way, then kill it.
  for (int i = 0; i < 200 && server.requests("/chan/linux-64/slow-0-1.0-0.conda") == 0; ++i)
    ::usleep(10'000);
  ::usleep(200'000);
  child.kill(SIGKILL);
  EXPECT_NE(child.wait(), 0) << "the first run finished before it was killed";
  server.set_rate(0);

  const json built = create({def, "--base", "scratch"});
  ASSERT_EQ(built["outcome"], "built") << built.dump();
  EXPECT_EQ(built["conda"]["packages"].size(), names.size());
  ProcessResult verify = envbuild({"store", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  // No temp file of the killed run survives the one that completed it.
  for (const auto& e : fs::recursive_directory_iterator(tmp.path() / "cache")) {
    EXPECT_EQ(e.path().filename().string().rfind(".tmp-", 0), std::string::npos) << e.path();
  }
  EXPECT_EQ(create({def, "--base", "scratch"})["outcome"], "cache-hit");
}
