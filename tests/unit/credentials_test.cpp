#include "registry/credentials.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "registry/error.hpp"
#include "tests/support/temp_dir.hpp"

using namespace envbuild;
using namespace envbuild::registry;
namespace fs = std::filesystem;

namespace {

DockerConfig config(const std::string& json) { return DockerConfig(json, "/cfg/config.json"); }

TEST(Base64, RoundTripAndRejects) {
  EXPECT_EQ(base64_encode("user:pass"), "dXNlcjpwYXNz");
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("a"), "YQ==");
  EXPECT_EQ(base64_decode("YQ=="), "a");
  EXPECT_EQ(base64_decode("YWI="), "ab");
  EXPECT_EQ(base64_decode("dXNlcjpwYXNz"), "user:pass");
  for (const char* bad : {"YQ", "Y===", "YQ=a", "a*bc", "YQ==YQ=="})
    EXPECT_EQ(base64_decode(bad), std::nullopt) << bad;
  EXPECT_EQ(basic_authorization({"user", "pass", ""}), "Basic dXNlcjpwYXNz");
}

TEST(DockerConfig, AuthsByHostAndUrlKeys) {
  auto c = config(R"({"auths":{
    "127.0.0.1:5000":{"auth":"dXNlcjpwYXNz"},
    "https://ghcr.io/v1/":{"username":"gh","password":"tok"},
    "https://index.docker.io/v1/":{"auth":"aHViOnNlY3JldDp3aXRoOmNvbG9ucw=="},
    "id.example":{"identitytoken":"refresh-123"}}})");
  auto local = c.lookup("127.0.0.1:5000");
  ASSERT_TRUE(local);
  EXPECT_EQ(local->username, "user");
  EXPECT_EQ(local->password, "pass");
  auto gh = c.lookup("ghcr.io");
  ASSERT_TRUE(gh);
  EXPECT_EQ(gh->username, "gh");
  EXPECT_EQ(gh->password, "tok");
  for (const char* hub : {"docker.io", "index.docker.io", "registry-1.docker.io"}) {
    auto h = c.lookup(hub);
    ASSERT_TRUE(h) << hub;
    EXPECT_EQ(h->username, "hub");
    EXPECT_EQ(h->password, "secret:with:colons");
  }
  auto id = c.lookup("id.example");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->identity_token, "refresh-123");
  EXPECT_FALSE(c.lookup("127.0.0.1:5001"));
  EXPECT_FALSE(c.lookup("quay.io"));
}

TEST(DockerConfig, EmptyEntriesAndMissingFileMeanAnonymous) {
  EXPECT_FALSE(config(R"({"auths":{"h":{}}})").lookup("h"));
  EXPECT_FALSE(config(R"({})").lookup("h"));
  envbuild::testing::TempDir dir;
  EXPECT_FALSE(DockerConfig(dir.path()).lookup("h"));
}

TEST(DockerConfig, MalformedInputNamesFileButNoSecret) {
  for (const char* bad : {
           R"({"auths":{"h":{"auth":"c2VjcmV0"}})",  // truncated JSON
           R"([])",
           R"({"auths":[]})",
           R"({"auths":{"h":"x"}})",
           R"({"auths":{"h":{"auth":5}}})",
           R"({"credHelpers":{"h":1}})",
           R"({"credsStore":true})",
       }) {
    try {
      config(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::BadInput);
      EXPECT_NE(std::string(e.what()).find("/cfg/config.json"), std::string::npos) << e.what();
    }
  }
  try {
    config("{\n \"auths\": {\"h\": {\"password\": \"hunter2\" oops}}}");
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("line 2"), std::string::npos) << m;
    EXPECT_EQ(m.find("hunter2"), std::string::npos) << m;
    EXPECT_EQ(m.find("oops"), std::string::npos) << m;
  }
  // A bad "auth" is reported on lookup, naming the entry but not the value.
  auto c = config(R"({"auths":{"h":{"auth":"bm9jb2xvbg=="}}})");  // "nocolon"
  try {
    c.lookup("h");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadInput);
    EXPECT_EQ(std::string(e.what()).find("bm9jb2xvbg"), std::string::npos);
  }
}

TEST(DockerConfig, ReadsFileFromDirectory) {
  envbuild::testing::TempDir dir;
  std::ofstream(dir.path() / "config.json") << R"({"auths":{"r.example":{"auth":"YTpi"}}})";
  auto c = DockerConfig(dir.path()).lookup("r.example");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "a");
  EXPECT_EQ(c->password, "b");
  std::ofstream(dir.path() / "config.json") << "{";
  try {
    DockerConfig d(dir.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find((dir.path() / "config.json").string()), std::string::npos);
  }
}

TEST(DockerConfig, NormalizesKeysAndServerUrls) {
  EXPECT_EQ(normalize_auth_key("https://index.docker.io/v1/"), "index.docker.io");
  EXPECT_EQ(normalize_auth_key("http://Reg.Example:5000/path"), "reg.example:5000");
  EXPECT_EQ(normalize_auth_key("reg.example:5000"), "reg.example:5000");
  EXPECT_EQ(credential_server_url("docker.io"), "https://index.docker.io/v1/");
  EXPECT_EQ(credential_server_url("ghcr.io"), "ghcr.io");
}

// Puts a fake docker-credential-test on PATH for the test's lifetime.
class CredentialHelperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* path = std::getenv("PATH");
    old_path_ = path != nullptr ? path : "";
    setenv("PATH", (dir_.path().string() + ":" + old_path_).c_str(), 1);
    // Echoes the server URL it was given on stdin so the test can check it.
    write_helper(
        "test",
        "#!/bin/sh\n"
        "[ \"$1\" = get ] || exit 3\n"
        "read -r url\n"
        "case \"$url\" in\n"
        "  ghcr.io) echo "
        "'{\"ServerURL\":\"ghcr.io\",\"Username\":\"helper-user\",\"Secret\":\"helper-pass\"}' ;;\n"
        "  https://index.docker.io/v1/) echo '{\"Username\":\"<token>\",\"Secret\":\"idtok\"}' ;;\n"
        "  bad.example) echo 'not json' ;;\n"
        "  fail.example) echo 'secret-ish failure text'; exit 1 ;;\n"
        "  *) echo 'credentials not found in native keychain'; exit 1 ;;\n"
        "esac\n");
  }
  void TearDown() override { setenv("PATH", old_path_.c_str(), 1); }
  void write_helper(const std::string& name, const std::string& script) {
    fs::path p = dir_.path() / ("docker-credential-" + name);
    std::ofstream(p) << script;
    ::chmod(p.c_str(), 0755);
  }
  envbuild::testing::TempDir dir_;
  std::string old_path_;
};

TEST_F(CredentialHelperTest, CredHelpersAndCredsStore) {
  auto c = config(R"({"credHelpers":{"ghcr.io":"test"},"auths":{"ghcr.io":{"auth":"YTpi"}}})");
  auto gh = c.lookup("ghcr.io");
  ASSERT_TRUE(gh);
  EXPECT_EQ(gh->username, "helper-user");  // credHelpers win over auths
  EXPECT_EQ(gh->password, "helper-pass");
  auto store = config(R"({"credsStore":"test","auths":{"other.example":{"auth":"YTpi"}}})");
  auto hub = store.lookup("docker.io");
  ASSERT_TRUE(hub);
  EXPECT_EQ(hub->identity_token, "idtok");
  EXPECT_TRUE(hub->username.empty());
  EXPECT_FALSE(store.lookup("nothing.example"));  // helper: not found
  auto other = store.lookup("other.example");     // auths before credsStore
  ASSERT_TRUE(other);
  EXPECT_EQ(other->username, "a");
}

TEST_F(CredentialHelperTest, FailuresAreAuthErrorsWithoutHelperOutput) {
  for (const char* host : {"bad.example", "fail.example"}) {
    try {
      run_credential_helper("test", host);
      ADD_FAILURE() << host;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Auth);
      std::string m = e.what();
      EXPECT_NE(m.find("docker-credential-test"), std::string::npos) << m;
      EXPECT_EQ(m.find("secret-ish"), std::string::npos) << m;
    }
  }
  try {
    run_credential_helper("absent-helper", "h");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Auth);
    EXPECT_NE(std::string(e.what()).find("not found in PATH"), std::string::npos) << e.what();
  }
  EXPECT_THROW(run_credential_helper("../evil", "h"), Error);
  write_helper("slow", "#!/bin/sh\nexec sleep 5\n");
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(run_credential_helper("slow", "h", std::chrono::milliseconds(100)), Error);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  write_helper("early", "#!/bin/sh\nexit 0\n");  // exits without reading stdin or printing
  EXPECT_THROW(run_credential_helper("early", std::string(1 << 20, 'x')), Error);
}

}  // namespace
