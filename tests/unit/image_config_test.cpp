#include "registry/image_config.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "registry/error.hpp"

using namespace envbuild;
using namespace envbuild::registry;

namespace {

const char* kConfig = R"({"created":"2024-01-01T00:00:00Z","architecture":"amd64","os":"linux",
"config":{"Env":["PATH=/usr/bin","A=1"],"Entrypoint":["/bin/sh"],"Cmd":["-c","x"],
"WorkingDir":"/w","User":"1000","Labels":{"l":"v"},"StopSignal":"SIGTERM"},
"rootfs":{"type":"layers","diff_ids":["sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"]},
"history":[{"created_by":"base","empty_layer":true}],"moby.extra":{"k":1}})";

TEST(ImageConfigTest, ParsesTheFieldsARuntimeUses) {
  ImageConfig c = ImageConfig::parse(kConfig, "config");
  EXPECT_EQ(c.created, "2024-01-01T00:00:00Z");
  EXPECT_EQ(c.env, (std::vector<std::string>{"PATH=/usr/bin", "A=1"}));
  EXPECT_EQ(c.entrypoint, std::vector<std::string>{"/bin/sh"});
  EXPECT_EQ(c.cmd, (std::vector<std::string>{"-c", "x"}));
  EXPECT_EQ(c.working_dir, "/w");
  EXPECT_EQ(c.user, "1000");
  EXPECT_EQ(c.labels.at("l"), "v");
  ASSERT_EQ(c.diff_ids.size(), 1u);
  EXPECT_EQ(c.diff_ids[0], Digest::sha256_of("a"));
  ASSERT_EQ(c.history.size(), 1u);
  EXPECT_TRUE(c.history[0].empty_layer);
}

TEST(ImageConfigTest, UnknownFieldsSurviveModification) {
  ImageConfig c = ImageConfig::parse(kConfig, "config");
  c.set_env("B=2");
  c.add_layer(Digest::sha256_of("b"), "envbuild: layer", "");
  nlohmann::json j = nlohmann::json::parse(c.to_bytes());
  EXPECT_EQ(j["config"]["StopSignal"], "SIGTERM");
  EXPECT_EQ(j["moby.extra"]["k"], 1);
  EXPECT_EQ(j["rootfs"]["diff_ids"].size(), 2u);
  EXPECT_EQ(j["history"].size(), 2u);
  ImageConfig back = ImageConfig::parse(c.to_bytes(), "again");
  EXPECT_EQ(back.to_bytes(), c.to_bytes());
}

TEST(ImageConfigTest, SetEnvReplacesInPlaceAndGetEnvMatchesWholeKeys) {
  ImageConfig c;
  c.set_env("PATH=/a");
  c.set_env("PATHX=1");
  c.set_env("PATH=/b");
  EXPECT_EQ(c.env, (std::vector<std::string>{"PATH=/b", "PATHX=1"}));
  EXPECT_EQ(c.get_env("PATH"), "/b");
  EXPECT_EQ(c.get_env("PAT"), std::nullopt);
  c.set_env("EMPTY=");
  EXPECT_EQ(c.get_env("EMPTY"), "");
  EXPECT_THROW(c.set_env("NOVALUE"), Error);
  EXPECT_THROW(c.set_env("=x"), Error);
}

TEST(ImageConfigTest, ANewConfigHasNoTimestamp) {
  ImageConfig c;
  nlohmann::json j = nlohmann::json::parse(c.to_bytes());
  EXPECT_FALSE(j.contains("created"));
  EXPECT_EQ(j["rootfs"]["type"], "layers");
}

TEST(ImageConfigTest, MalformedConfigsNameTheField) {
  struct Case {
    const char* text;
    const char* needle;
  };
  for (const Case& k :
       {Case{"nope", "config.json"}, Case{"[]", "config.json"},
        Case{R"({"config":{"Env":"A=1"}})", "Env"}, Case{R"({"config":{"Env":[1]}})", "Env"},
        Case{R"({"rootfs":{"type":"layers","diff_ids":["sha256:x"]}})", "diff_ids"},
        Case{R"({"architecture":7})", "architecture"}}) {
    SCOPED_TRACE(k.text);
    try {
      ImageConfig::parse(k.text, "config.json");
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::BadInput);
      EXPECT_NE(std::string(e.what()).find(k.needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
