// Channel names and URLs (CEP 26): every form an environment.yml uses, and
// credentials that never leave the request.
#include <gtest/gtest.h>

#include "builder/conda/channel/channel.hpp"
#include "registry/error.hpp"

using namespace envbuild;
using namespace envbuild::builder::conda;

namespace {

void expect_bad(const std::string& text, const std::string& fragment = "") {
  try {
    resolve_channel(text);
    ADD_FAILURE() << "accepted: " << text;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadInput) << text;
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(CondaChannel, NamesGoUnderTheAlias) {
  struct Case {
    std::string text, name, url;
  };
  for (const Case& c : std::vector<Case>{
           {"conda-forge", "conda-forge", "https://conda.anaconda.org/conda-forge"},
           {"bioconda", "bioconda", "https://conda.anaconda.org/bioconda"},
           {"nvidia/label/cuda-12", "nvidia/label/cuda-12",
            "https://conda.anaconda.org/nvidia/label/cuda-12"},
           {"conda-forge/", "conda-forge", "https://conda.anaconda.org/conda-forge"},
           {"  pytorch  ", "pytorch", "https://conda.anaconda.org/pytorch"},
           {"my_org.channel", "my_org.channel", "https://conda.anaconda.org/my_org.channel"},
           {"Label/Upper", "Label/Upper", "https://conda.anaconda.org/Label/Upper"},
       }) {
    Channel ch = resolve_channel(c.text);
    EXPECT_EQ(ch.name, c.name) << c.text;
    EXPECT_EQ(ch.base_url, c.url) << c.text;
    EXPECT_FALSE(ch.is_local());
    EXPECT_TRUE(ch.userinfo.empty() && ch.token.empty());
  }
}

TEST(CondaChannel, CustomAlias) {
  Channel ch = resolve_channel("conda-forge", "https://mirror.example.com/conda/");
  EXPECT_EQ(ch.base_url, "https://mirror.example.com/conda/conda-forge");
  EXPECT_EQ(ch.name, "conda-forge");
  // A URL under the alias gets the short name.
  ch = resolve_channel("https://mirror.example.com/conda/bioconda/",
                       "https://mirror.example.com/conda");
  EXPECT_EQ(ch.name, "bioconda");
  EXPECT_EQ(ch.base_url, "https://mirror.example.com/conda/bioconda");
}

TEST(CondaChannel, Urls) {
  Channel ch = resolve_channel("https://conda.anaconda.org/conda-forge/");
  EXPECT_EQ(ch.base_url, "https://conda.anaconda.org/conda-forge");
  EXPECT_EQ(ch.name, "conda-forge");
  ch = resolve_channel("HTTPS://Repo.Example.COM:8443/Channels/x");
  EXPECT_EQ(ch.base_url, "https://repo.example.com:8443/Channels/x");
  EXPECT_EQ(ch.name, ch.base_url);
  ch = resolve_channel("https://example.com");
  EXPECT_EQ(ch.base_url, "https://example.com");
  ch = resolve_channel("https://[2001:db8::1]:8080/chan");
  EXPECT_EQ(ch.base_url, "https://[2001:db8::1]:8080/chan");
}

TEST(CondaChannel, PlainHttpOnlyForLoopbackAndListedHosts) {
  EXPECT_EQ(resolve_channel("http://127.0.0.1:8080/chan").base_url, "http://127.0.0.1:8080/chan");
  EXPECT_EQ(resolve_channel("http://localhost/chan").base_url, "http://localhost/chan");
  EXPECT_EQ(resolve_channel("http://127.9.8.7/c").base_url, "http://127.9.8.7/c");
  EXPECT_EQ(resolve_channel("http://[::1]:9/c").base_url, "http://[::1]:9/c");
  expect_bad("http://example.com/chan", "plain http");
  expect_bad("http://127.0.0.1.example.com/chan", "plain http");
  ChannelOptions options;
  options.insecure_hosts = {"mirror.lan:8080"};
  EXPECT_EQ(resolve_channel("http://mirror.lan:8080/c", options).base_url,
            "http://mirror.lan:8080/c");
  EXPECT_THROW(resolve_channel("http://mirror.lan/c", options), Error);
  options.insecure_hosts = {"Mirror.LAN"};
  EXPECT_NO_THROW(resolve_channel("http://mirror.lan:1234/c", options));
}

TEST(CondaChannel, LocalPaths) {
  Channel ch = resolve_channel("file:///srv/channel/");
  EXPECT_TRUE(ch.is_local());
  EXPECT_EQ(ch.path, "/srv/channel");
  EXPECT_EQ(ch.base_url, "file:///srv/channel");
  EXPECT_EQ(ch.name, "file:///srv/channel");
  EXPECT_EQ(resolve_channel("/srv/channel").base_url, "file:///srv/channel");
  EXPECT_EQ(resolve_channel("file://localhost/srv/c").path, "/srv/c");
  ch = resolve_channel("file:///srv/my%20channel");
  EXPECT_EQ(ch.path, "/srv/my channel");
  EXPECT_EQ(ch.base_url, "file:///srv/my%20channel");
  EXPECT_EQ(resolve_channel("/srv//a/./b/").path, "/srv/a/b");

  ChannelOptions options;
  options.base_dir = "/home/u/project";
  EXPECT_EQ(resolve_channel("./local-channel", options).path, "/home/u/project/local-channel");
  EXPECT_EQ(resolve_channel("../shared/chan", options).path, "/home/u/shared/chan");
  expect_bad("./local-channel", "relative");
  expect_bad("~/channel", "relative");
  expect_bad("file://otherhost/srv/c", "local path");
  expect_bad("file:///", "root");
  expect_bad("C:/channels/x", "Windows");
}

TEST(CondaChannel, Defaults) {
  ChannelList list = resolve_channels({"conda-forge", "defaults", "nodefaults"});
  ASSERT_EQ(list.channels.size(), 3u);
  EXPECT_EQ(list.channels[0].name, "conda-forge");
  EXPECT_EQ(list.channels[1].base_url, "https://repo.anaconda.com/pkgs/main");
  EXPECT_EQ(list.channels[1].name, "pkgs/main");
  EXPECT_EQ(list.channels[2].base_url, "https://repo.anaconda.com/pkgs/r");
  EXPECT_TRUE(list.nodefaults);
  EXPECT_EQ(default_channel_urls().size(), 2u);
  EXPECT_EQ(resolve_channel("pkgs/main").base_url, "https://repo.anaconda.com/pkgs/main");

  // nodefaults alone is no channel; duplicates keep the first place.
  list = resolve_channels({"nodefaults"});
  EXPECT_TRUE(list.channels.empty());
  EXPECT_TRUE(list.nodefaults);
  list = resolve_channels({"conda-forge", "bioconda", "https://conda.anaconda.org/conda-forge/"});
  ASSERT_EQ(list.channels.size(), 2u);
  EXPECT_EQ(list.channels[1].name, "bioconda");
  EXPECT_FALSE(list.nodefaults);

  expect_bad("defaults", "several channels");
  expect_bad("nodefaults", "marker");
}

TEST(CondaChannel, Refused) {
  expect_bad("", "empty");
  expect_bad("   ", "empty");
  expect_bad("conda forge", "whitespace");
  expect_bad("conda-forge/linux-64", "subdir");
  expect_bad("https://conda.anaconda.org/conda-forge/noarch/", "subdir");
  expect_bad("/srv/channel/linux-64", "subdir");
  expect_bad("ftp://example.com/c", "scheme");
  expect_bad("s3://bucket/c", "scheme");
  expect_bad("https://example.com/c?x=1", "query");
  expect_bad("https://example.com/c#frag", "query");
  expect_bad("https://example.com/a/../b", "'..'");
  expect_bad("https://example.com/a//b", "segment");
  expect_bad("https://", "host");
  expect_bad("https://exa mple.com/c", "whitespace");
  expect_bad("https://ex!ample.com/c", "host");
  expect_bad(".hidden", "not a channel name");
  expect_bad("-dash", "not a channel name");
  expect_bad("a//b", "not a channel name");
  expect_bad("a/b%", "not a channel name");
  expect_bad("conda-forge::numpy", "not a channel name");
  expect_bad(std::string(129, 'a'), "not a channel name");
  expect_bad("file:///srv/%00x", "NUL");
}

TEST(CondaChannel, CredentialsAreKeptOutOfNamesUrlsAndMessages) {
  Channel ch = resolve_channel("https://user:s3cret@conda.example.com/private/");
  EXPECT_EQ(ch.base_url, "https://conda.example.com/private");
  EXPECT_EQ(ch.name, "https://conda.example.com/private");
  EXPECT_EQ(ch.userinfo, "user:s3cret");
  EXPECT_EQ(ch.request_url(ch.base_url + "/noarch/repodata.json"),
            "https://user:s3cret@conda.example.com/private/noarch/repodata.json");
  // Never to another host, even one whose name starts the same.
  EXPECT_EQ(ch.request_url("https://conda.example.com.evil.org/x"),
            "https://conda.example.com.evil.org/x");
  EXPECT_EQ(ch.request_url("https://cdn.example.com/x"), "https://cdn.example.com/x");

  ch = resolve_channel("https://conda.anaconda.org/t/ab-12_CD34/private-chan");
  EXPECT_EQ(ch.base_url, "https://conda.anaconda.org/private-chan");
  EXPECT_EQ(ch.name, "private-chan");
  EXPECT_EQ(ch.token, "ab-12_CD34");
  EXPECT_EQ(ch.request_url("https://conda.anaconda.org/private-chan/linux-64/repodata.json"),
            "https://conda.anaconda.org/t/ab-12_CD34/private-chan/linux-64/repodata.json");

  // A token in the alias travels to names under it.
  ch = resolve_channel("mychan", "https://conda.anaconda.org/t/TOKEN9");
  EXPECT_EQ(ch.base_url, "https://conda.anaconda.org/mychan");
  EXPECT_EQ(ch.request_url(ch.base_url + "/noarch/repodata.json"),
            "https://conda.anaconda.org/t/TOKEN9/mychan/noarch/repodata.json");

  // Messages about bad input redact both kinds.
  for (const std::string& text : {std::string("http://user:s3cret@example.com/c"),
                                  std::string("https://example.com/t/s3cret/c/linux-64"),
                                  std::string("https://user:s3cret@example.com/t/s3cret/c?q")}) {
    try {
      resolve_channel(text);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("***"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(redact_channel_text("https://u:p@h/t/tok/c"), "https://***@h/t/***/c");
  EXPECT_EQ(redact_channel_text("conda-forge"), "conda-forge");
}
