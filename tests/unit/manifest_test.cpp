// Parsers of manifests and indexes: typed parse, byte-exact round trip of
// what was not changed, and one clear error per kind of malformed input.
#include "registry/manifest.hpp"

#include <gtest/gtest.h>

#include <string>

#include "registry/descriptor_json.hpp"
#include "registry/error.hpp"
#include "registry/media_types.hpp"

using namespace envbuild;
using namespace envbuild::registry;

namespace {

const std::string kA = Digest::sha256_of("a").str();
const std::string kB = Digest::sha256_of("b").str();

ManifestBytes bytes_of(std::string text, std::string media_type = {}) {
  Digest d = Digest::sha256_of(text);
  return ManifestBytes{std::move(media_type), std::move(text), d};
}

// Unusual but valid formatting and an unknown field: a client that
// re-serialized would change the digest.
std::string oci_manifest_text() {
  return "{\n  \"schemaVersion\": 2,\n  \"mediaType\": "
         "\"application/vnd.oci.image.manifest.v1+json\","
         "\"config\": {\"mediaType\": \"application/vnd.oci.image.config.v1+json\", \"digest\": "
         "\"" +
         kA +
         "\", \"size\": 7},\n\"layers\": [ {\"mediaType\": "
         "\"application/vnd.oci.image.layer.v1.tar+gzip\", \"digest\": \"" +
         kB +
         "\", \"size\": 42, \"annotations\": {\"k\": \"v\"}} ],"
         "\"annotations\": {\"org.opencontainers.image.title\": \"t\"}, \"x-vendor\": [1, 2]}";
}

TEST(ImageManifestTest, ParsesOciManifestFields) {
  ImageManifest m = ImageManifest::parse(bytes_of(oci_manifest_text()));
  EXPECT_EQ(m.media_type, media::kOciManifest);
  EXPECT_EQ(m.config.digest.str(), kA);
  EXPECT_EQ(m.config.size, 7);
  ASSERT_EQ(m.layers.size(), 1u);
  EXPECT_EQ(m.layers[0].size, 42);
  EXPECT_EQ(m.layers[0].annotations.at("k"), "v");
  EXPECT_EQ(m.annotations.at("org.opencontainers.image.title"), "t");
  EXPECT_FALSE(m.subject.has_value());
}

TEST(ImageManifestTest, UnchangedManifestKeepsItsExactBytes) {
  ManifestBytes original = bytes_of(oci_manifest_text());
  ManifestBytes again = ImageManifest::parse(original).to_bytes();
  EXPECT_EQ(again.bytes, original.bytes);
  EXPECT_EQ(again.digest, original.digest);
}

TEST(ImageManifestTest, ModifiedManifestIsReserializedKeepingUnknownFields) {
  ImageManifest m = ImageManifest::parse(bytes_of(oci_manifest_text()));
  m.annotations["added"] = "yes";
  ManifestBytes out = m.to_bytes();
  EXPECT_NE(out.digest, Digest::sha256_of(oci_manifest_text()));
  EXPECT_EQ(out.digest, Digest::sha256_of(out.bytes));
  EXPECT_NE(out.bytes.find("\"x-vendor\":[1,2]"), std::string::npos) << out.bytes;
  ImageManifest back = ImageManifest::parse(out);
  EXPECT_EQ(back.annotations.at("added"), "yes");
  EXPECT_EQ(back.layers.size(), 1u);
  // Serializing twice gives the same bytes: digests are stable.
  EXPECT_EQ(back.to_bytes().bytes, out.bytes);
}

TEST(ImageManifestTest, DockerSchema2WithoutMediaTypeFieldUsesTheFallback) {
  std::string text = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" +
                     std::string(media::kDockerConfig) + "\",\"digest\":\"" + kA +
                     "\",\"size\":1},\"layers\":[]}";
  ImageManifest m = ImageManifest::parse(bytes_of(text, std::string(media::kDockerManifest)));
  EXPECT_EQ(m.media_type, media::kDockerManifest);
  EXPECT_TRUE(m.layers.empty());
}

void expect_bad(const std::string& text, const std::string& needle) {
  SCOPED_TRACE(text);
  ManifestBytes b = bytes_of(text);
  try {
    ImageManifest::parse(b);
    ADD_FAILURE() << "parsed but should be rejected";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadInput);
    std::string what = e.what();
    EXPECT_NE(what.find(needle), std::string::npos) << what;
    EXPECT_NE(what.find(b.digest.str()), std::string::npos) << "names the manifest: " << what;
  }
}

TEST(ImageManifestTest, MalformedManifestsGetOneClearErrorEach) {
  std::string cfg = "{\"mediaType\":\"m\",\"digest\":\"" + kA + "\",\"size\":1}";
  expect_bad("not json", "not a JSON object");
  expect_bad("[1,2]", "not a JSON object");
  expect_bad("{\"schemaVersion\":1}", "schemaVersion must be 2");
  expect_bad("{\"schemaVersion\":\"2\"}", "schemaVersion must be 2");
  expect_bad(
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
      "\"manifests\":[]}",
      "not an image manifest");
  expect_bad(
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
      "\"layers\":[]}",
      "has no 'config'");
  expect_bad(
      "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"m\",\"digest\":\"sha256:zz\","
      "\"size\":1},\"layers\":[]}",
      "invalid digest 'sha256:zz'");
  expect_bad("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"m\",\"digest\":\"" + kA +
                 "\",\"size\":-1},\"layers\":[]}",
             "'size' must be a non-negative integer");
  expect_bad("{\"schemaVersion\":2,\"config\":{\"digest\":\"" + kA + "\",\"size\":1}}",
             "missing field 'mediaType'");
  expect_bad("{\"schemaVersion\":2,\"config\":" + cfg + ",\"layers\":{}}",
             "'layers' must be an array");
  expect_bad("{\"schemaVersion\":2,\"config\":" + cfg + ",\"layers\":[7]}",
             "layers[0]: descriptor must be an object");
  expect_bad("{\"schemaVersion\":2,\"config\":" + cfg + ",\"annotations\":{\"a\":1}}",
             "annotation 'a' must be a string");
}

TEST(ManifestChildrenTest, IndexChildrenKeepPlatforms) {
  std::string text = "{\"schemaVersion\":2,\"mediaType\":\"" + std::string(media::kOciIndex) +
                     "\",\"manifests\":[{\"mediaType\":\"" + std::string(media::kOciManifest) +
                     "\",\"digest\":\"" + kA +
                     "\",\"size\":3,\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\","
                     "\"variant\":\"v8\"}},{\"mediaType\":\"" +
                     std::string(media::kOciManifest) + "\",\"digest\":\"" + kB +
                     "\",\"size\":4}]}";
  ManifestChildren c = manifest_children(bytes_of(text));
  ASSERT_EQ(c.manifests.size(), 2u);
  ASSERT_TRUE(c.manifests[0].platform.has_value());
  EXPECT_EQ(c.manifests[0].platform->architecture, "arm64");
  EXPECT_EQ(c.manifests[0].platform->variant, "v8");
  EXPECT_FALSE(c.manifests[1].platform.has_value());
  EXPECT_TRUE(c.blobs.empty());
}

TEST(ManifestChildrenTest, MediaTypeIsDetectedFromShapeWhenAbsent) {
  EXPECT_EQ(detect_manifest_media_type(nlohmann::json::parse("{\"manifests\":[]}")),
            media::kOciIndex);
  EXPECT_EQ(detect_manifest_media_type(nlohmann::json::parse("{\"layers\":[]}")),
            media::kOciManifest);
  EXPECT_EQ(detect_manifest_media_type(nlohmann::json::parse("{}")), "");
  EXPECT_THROW(manifest_children(bytes_of("{\"schemaVersion\":2}")), Error);
}

TEST(ManifestChildrenTest, RefusesOversizedAndNonObjectManifests) {
  std::string big(kMaxManifestBytes + 1, ' ');
  EXPECT_THROW(parse_manifest_json(big, "m"), Error);
  EXPECT_THROW(parse_manifest_json("\"a string\"", "m"), Error);
  EXPECT_THROW(parse_manifest_json("{", "m"), Error);
}

TEST(DescriptorJsonTest, RoundTripKeepsEveryField) {
  Descriptor d;
  d.media_type = "application/x";
  d.digest = Digest::sha256_of("x");
  d.size = 9;
  d.urls = {"https://example.com/x"};
  d.annotations = {{"b", "2"}, {"a", "1"}};
  d.platform = Platform{"amd64", "linux", "", "10.0", {"sse4"}};
  d.artifact_type = "application/y";
  Descriptor back = descriptor_from_json(nlohmann::json::parse(descriptor_to_json(d).dump()), "t");
  EXPECT_EQ(back.media_type, d.media_type);
  EXPECT_EQ(back.digest, d.digest);
  EXPECT_EQ(back.size, d.size);
  EXPECT_EQ(back.urls, d.urls);
  EXPECT_EQ(back.annotations, d.annotations);
  EXPECT_EQ(back.platform, d.platform);
  EXPECT_EQ(back.artifact_type, d.artifact_type);
}

}  // namespace
