// The JSON tokenizer, the index pass and the record parser, on small
// hand-written documents (hostile ones included).
#include <gtest/gtest.h>

#include "builder/conda/channel/json_cursor.hpp"
#include "builder/conda/channel/repodata_record.hpp"
#include "builder/conda/channel/repodata_scan.hpp"

using namespace envbuild::builder::conda;

namespace {

std::vector<std::string> names_of(const ScannedRepodata& s) {
  std::vector<std::string> out;
  for (const auto& [name, group] : s.name_to_group) out.emplace_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

size_t count_of(const ScannedRepodata& s, const std::string& name) {
  auto it = s.name_to_group.find(name);
  if (it == s.name_to_group.end()) return 0;
  return s.group_start[it->second + 1] - s.group_start[it->second];
}

RecordParseResult parse(const std::string& json, const std::string& filename = "a-1.0-0.conda") {
  RecordContext c;
  c.filename = filename;
  c.conda_format = filename.ends_with(".conda");
  c.subdir = "linux-64";
  c.channel = "https://example.com/chan";
  c.url_base = "https://example.com/chan/linux-64/";
  c.channel_priority = 3;
  return parse_repodata_record(json, c);
}

}  // namespace

TEST(CondaJsonCursor, Strings) {
  std::string out;
  EXPECT_TRUE(decode_json_string(R"(a\"b\\c\/d\n\t\u00e9\ud83d\ude00)", out));
  EXPECT_EQ(out, "a\"b\\c/d\n\t\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_FALSE(decode_json_string(R"(\x)", out));
  EXPECT_FALSE(decode_json_string(R"(\u12)", out));
  EXPECT_FALSE(decode_json_string(R"(\ud800)", out));
  EXPECT_FALSE(decode_json_string(R"(\udc00)", out));
  EXPECT_FALSE(decode_json_string("\\", out));

  // Long strings cross the 16-byte scan steps; escapes at every position.
  for (size_t at = 0; at < 40; ++at) {
    std::string body(40, 'x');
    body.insert(at, "\\\"");
    std::string doc = "\"" + body + "\"";
    JsonCursor c(doc);
    bool escaped = false;
    EXPECT_EQ(c.raw_string(escaped), body);
    EXPECT_TRUE(escaped);
    EXPECT_TRUE(c.at_end());
  }
}

TEST(CondaJsonCursor, SkipsValuesAndRefusesBadSyntax) {
  for (const std::string ok :
       {"{}", "[]", "[1,-2.5e+3,true,false,null,\"x\",{\"a\":[{}]}]", " { \"a\" : 0 } "}) {
    JsonCursor c(ok);
    EXPECT_NO_THROW(c.skip_value()) << ok;
    EXPECT_TRUE(c.at_end()) << ok;
  }
  for (const std::string bad :
       {"{", "[1,]", "{\"a\" 1}", "{\"a\":}", "[01]", "[1.]", "[-]", "[tru]", "\"abc", "\"a\nb\"",
        "[1 2]", "{\"a\":1,}", "{1:2}", "[\"\\", ""}) {
    JsonCursor c(bad);
    EXPECT_THROW(c.skip_value(), JsonSyntaxError) << bad;
  }
  std::string deep(200, '[');
  JsonCursor c(deep);
  EXPECT_THROW(c.skip_value(), JsonSyntaxError);
  EXPECT_EQ(json_integer("123"), 123);
  EXPECT_EQ(json_integer("-7"), -7);
  EXPECT_FALSE(json_integer("1.5"));
  EXPECT_FALSE(json_integer("99999999999999999999"));
}

TEST(CondaRepodataScan, IndexesRecordsByName) {
  const std::string doc = R"({
    "info": {"subdir": "linux-64", "base_url": "../pkgs/", "arch": "x86_64"},
    "signatures": {"x": {"y": {"signature": "z"}}},
    "packages": {
      "a-1.0-0.tar.bz2": {"build": "0", "name": "a", "depends": ["b >1", "c"], "version": "1.0"},
      "b-2.0-0.tar.bz2": {"name": "b", "version": "2.0", "build": "0"}
    },
    "packages.conda": {
      "a-1.0-0.conda": {"name": "a", "version": "1.0", "build": "0", "extra": {"n": [1, {"name": "zz"}]}},
      "x-1-0.conda": {"version": "1"},
      "y-1-0.conda": {"name": 5},
      "z-1-0.conda": "not a record",
      "esc-1-0.conda": {"name": "e\u0073c"}
    },
    "removed": ["b-1.0-0.tar.bz2", 7],
    "repodata_version": 2
  })";
  ScannedRepodata s = scan_repodata(doc);
  EXPECT_EQ(s.subdir, "linux-64");
  EXPECT_EQ(s.base_url, "../pkgs/");
  EXPECT_EQ(s.repodata_version, 2);
  EXPECT_EQ(names_of(s), (std::vector<std::string>{"a", "b", "esc"}));
  EXPECT_EQ(count_of(s, "a"), 2u);
  EXPECT_EQ(s.malformed, 3u);  // no name, a number as name, not an object
  EXPECT_EQ(s.removed.count("b-1.0-0.tar.bz2"), 1u);
  for (const RepodataEntry& e : s.entries) {
    std::string_view value = std::string_view(doc).substr(e.value_offset, e.value_length);
    EXPECT_EQ(value.front(), '{');
    EXPECT_EQ(value.back(), '}');
  }
  const RepodataEntry& first = s.entries[s.group_entries[s.group_start[s.name_to_group["a"]]]];
  EXPECT_EQ(s.raw_key(doc, first), "a-1.0-0.tar.bz2");
  EXPECT_EQ(first.flags & RepodataEntry::kConda, 0);
}

TEST(CondaRepodataScan, EmptyAndMinimalDocuments) {
  EXPECT_TRUE(scan_repodata("").entries.empty());  // CEP 36: empty is {}
  EXPECT_TRUE(scan_repodata("  \n").entries.empty());
  EXPECT_TRUE(scan_repodata("{}").entries.empty());
  EXPECT_EQ(scan_repodata("{\"info\": {\"repodata_version\": 2}}").repodata_version, 2);
  EXPECT_TRUE(scan_repodata("{\"packages\": null, \"removed\": null}").entries.empty());
}

TEST(CondaRepodataScan, MalformedDocumentsThrowWithTheOffset) {
  for (const std::string bad :
       {"{", "[]", "{\"packages\": []}", "{\"packages\": {\"a\": {\"name\": \"a\"}}",
        "{\"packages\": {\"a\": {\"name\": \"a\",}}}", "{} x", "{\"info\": 3}",
        "{\"repodata_version\": \"2\"}", "{\"removed\": {}}"}) {
    EXPECT_THROW(scan_repodata(bad), JsonSyntaxError) << bad;
  }
  try {
    scan_repodata("{\"packages\": {\"a\": {\"name\": \"a\" \"b\"}}}");
    FAIL();
  } catch (const JsonSyntaxError& e) {
    EXPECT_EQ(e.offset(), 32u);
    EXPECT_NE(std::string(e.what()).find("at byte 32"), std::string::npos);
  }
}

TEST(CondaRepodataRecord, AllFields) {
  auto r = parse(R"({
    "build": "py311h64a7726_0", "build_number": 0,
    "constrains": ["numpy-base <0a0"], "depends": ["libgcc-ng >=12", "python >=3.11,<3.12.0a0"],
    "license": "BSD-3-Clause", "license_family": "BSD",
    "md5": "A502D7AAD449A1206EFB366D6A12C52D", "name": "a",
    "sha256": "3f4365e11b28e244c95ba8579942b0802761ba7bb31c026f50d1a9ea9c728149",
    "size": 8065890, "subdir": "linux-64", "timestamp": 1707225421156,
    "track_features": "mkl, blas_openblas  x", "features": "old", "version": "1.26.4",
    "noarch": null, "legacy_bz2_md5": "x", "app": {"entry": "x"}
  })");
  ASSERT_TRUE(r.record) << r.problem;
  const auto& p = *r.record;
  EXPECT_EQ(p.name, "a");
  EXPECT_EQ(p.version, "1.26.4");
  EXPECT_EQ(p.build, "py311h64a7726_0");
  EXPECT_EQ(p.depends.size(), 2u);
  EXPECT_EQ(p.constrains, std::vector<std::string>{"numpy-base <0a0"});
  EXPECT_EQ(p.track_features, (std::vector<std::string>{"mkl", "blas_openblas", "x"}));
  EXPECT_EQ(p.features, std::vector<std::string>{"old"});
  EXPECT_EQ(p.md5, "a502d7aad449a1206efb366d6a12c52d");
  EXPECT_EQ(p.size, 8065890u);
  EXPECT_EQ(p.timestamp, 1707225421156);
  EXPECT_EQ(p.license, "BSD-3-Clause");
  EXPECT_EQ(p.noarch, "");
  EXPECT_EQ(p.filename, "a-1.0-0.conda");
  EXPECT_EQ(p.url, "https://example.com/chan/linux-64/a-1.0-0.conda");
  EXPECT_EQ(p.channel, "https://example.com/chan");
  EXPECT_EQ(p.channel_priority, 3);
  EXPECT_EQ(p.subdir, "linux-64");
}

TEST(CondaRepodataRecord, LenientWhereOldChannelsDiffer) {
  // Seconds become milliseconds; a boolean noarch; missing optional fields;
  // subdir from the document; null checksums.
  auto r = parse(R"({"name": "a", "version": "1", "build": "0", "timestamp": 1600000000,
                     "noarch": true, "md5": null, "sha256": null, "track_features": ["x y"]})");
  ASSERT_TRUE(r.record) << r.problem;
  EXPECT_EQ(r.record->timestamp, 1600000000000);
  EXPECT_EQ(r.record->noarch, "generic");
  EXPECT_EQ(r.record->subdir, "linux-64");
  EXPECT_TRUE(r.record->sha256.empty());
  EXPECT_EQ(r.record->track_features, (std::vector<std::string>{"x", "y"}));
  r = parse(R"({"name": "a", "version": "1", "build": "0", "timestamp": 1.6e12})");
  ASSERT_TRUE(r.record) << r.problem;
  EXPECT_EQ(r.record->timestamp, 1600000000000);
}

TEST(CondaRepodataRecord, MalformedFieldsRefuseTheRecord) {
  const std::string head = R"({"name": "a", "version": "1", "build": "0", )";
  for (const std::string bad :
       {R"("depends": "x")", R"("depends": [1])", R"("size": -1)", R"("size": 1.5)",
        R"("size": "12")", R"("build_number": "0")", R"("sha256": "abc")", R"("md5": "zz")",
        R"("noarch": "java")", R"("version": "1 2")", R"("version": "")", R"("build": "a/b")",
        R"("license": "x\u0001")", R"("constrains": {})"}) {
    auto r = parse(head + bad + "}");
    EXPECT_FALSE(r.record) << bad;
    EXPECT_FALSE(r.problem.empty()) << bad;
  }
  EXPECT_FALSE(parse(R"({"version": "1", "build": "0"})").record);
  // Filenames that could leave the directory or mismatch the section.
  for (const std::string filename : {"../a-1-0.conda", "a/b-1-0.conda", ".a-1-0.conda", "a-1-0.zip",
                                     "a b-1-0.conda", "a%2f-1-0.conda", ".conda"}) {
    EXPECT_FALSE(parse(R"({"name": "a", "version": "1", "build": "0"})", filename).record)
        << filename;
  }
  RecordContext c;
  c.filename = "a-1-0.tar.bz2";
  c.conda_format = true;  // a .tar.bz2 listed in packages.conda
  EXPECT_FALSE(parse_repodata_record(R"({"name": "a", "version": "1", "build": "0"})", c).record);
  EXPECT_THROW(parse(R"({"name": "a")"), JsonSyntaxError);
}

TEST(CondaRepodataRecord, Helpers) {
  EXPECT_EQ(split_feature_list(" a,b  c,,"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(split_feature_list("").empty());
  EXPECT_TRUE(is_safe_package_filename("numpy-1.26.4-py311h64a7726_0.conda"));
  EXPECT_TRUE(is_safe_package_filename("python-3.12.0-h1_0_cpython.tar.bz2"));
  EXPECT_TRUE(is_safe_package_filename("x-1!2.0+cu12-0.conda"));
  EXPECT_FALSE(is_safe_package_filename(std::string(300, 'a') + ".conda"));
}
