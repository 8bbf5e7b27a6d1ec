// Prefix replacement (text and binary, as conda does it), long shebangs,
// and the noarch: python layout and entry-point scripts.
#include <gtest/gtest.h>

#include "builder/conda/package/noarch_python.hpp"
#include "builder/conda/package/prefix_replace.hpp"
#include "registry/error.hpp"
#include "tests/support/error_kind.hpp"

using envbuild::ErrorKind;
using envbuild::testing::kind_of;
using namespace envbuild::builder::conda;
using namespace std::string_literals;

namespace {

constexpr std::string_view kPh = "/opt/anaconda1anaconda2anaconda3";  // 32 bytes

TEST(CondaTextReplace, EveryOccurrenceIncludingAtTheEnds) {
  std::string in =
      std::string(kPh) + "/bin:" + std::string(kPh) + std::string(kPh) + "\nx=" + std::string(kPh);
  std::string out = replace_prefix_text(in, kPh, "/opt/conda");
  EXPECT_EQ(out, "/opt/conda/bin:/opt/conda/opt/conda\nx=/opt/conda");
  EXPECT_EQ(replace_prefix_text("nothing here", kPh, "/opt/conda"), "nothing here");
  EXPECT_EQ(replace_prefix_text("", kPh, "/opt/conda"), "");
  // A longer prefix is fine in text files.
  std::string longer(100, 'p');
  EXPECT_EQ(replace_prefix_text("a" + std::string(kPh), kPh, "/" + longer), "a/" + longer);
}

TEST(CondaTextReplace, ZlibPkgConfig) {
  std::string pc = "prefix=/opt/anaconda1anaconda2anaconda3\nexec_prefix=${prefix}\n";
  EXPECT_EQ(replace_prefix(pc, FileMode::Text, kPh, "/opt/conda", "zlib.pc"),
            "prefix=/opt/conda\nexec_prefix=${prefix}\n");
}

TEST(CondaBinaryReplace, PadsEachStringWithNulsAndKeepsTheLength) {
  std::string in =
      "\x7f"
      "ELF\0"s +
      std::string(kPh) + "/lib\0tail\0"s;
  std::string out = replace_prefix_binary(in, kPh, "/opt/conda", "libx.so");
  ASSERT_EQ(out.size(), in.size());
  std::string pad(kPh.size() - std::string_view("/opt/conda").size(), '\0');
  EXPECT_EQ(out,
            "\x7f"
            "ELF\0"s +
                "/opt/conda/lib\0"s + pad + "tail\0"s);
}

TEST(CondaBinaryReplace, SeveralPlaceholdersInOneStringShareThePadding) {
  // An RPATH with two entries: both replaced, padding for both after the NUL.
  std::string in = "R:"s + std::string(kPh) + "/lib:" + std::string(kPh) + "/lib64\0Z"s;
  std::string out = replace_prefix_binary(in, kPh, "/p", "lib");
  ASSERT_EQ(out.size(), in.size());
  std::string pad(2 * (kPh.size() - 2), '\0');
  EXPECT_EQ(out, "R:/p/lib:/p/lib64\0"s + pad + "Z");
}

TEST(CondaBinaryReplace, SeveralStringsAndPlaceholderAtTheVeryStartAndEnd) {
  std::string in = std::string(kPh) + "\0mid\0"s + std::string(kPh) + "/share";
  std::string out = replace_prefix_binary(in, kPh, "/opt/conda", "f");
  ASSERT_EQ(out.size(), in.size());
  size_t pad = kPh.size() - 10;
  // First string: terminator, then padding.
  EXPECT_EQ(out.substr(0, 11), "/opt/conda\0"s);
  EXPECT_EQ(out.substr(11, pad), std::string(pad, '\0'));
  EXPECT_EQ(out.substr(11 + pad, 4), "mid\0"s);
  // The last string runs to the end of the file: padded at the end.
  EXPECT_EQ(out.substr(15 + pad, 16), "/opt/conda/share");
  EXPECT_EQ(out.substr(31 + pad), std::string(pad, '\0'));
}

TEST(CondaBinaryReplace, SamePrefixLengthNeedsNoPadding) {
  std::string same(kPh.size(), 'x');
  same[0] = '/';
  std::string in = "a\0"s + std::string(kPh) + "\0"s;
  std::string out = replace_prefix_binary(in, kPh, same, "f");
  EXPECT_EQ(out, "a\0"s + same + "\0"s);
}

TEST(CondaBinaryReplace, LongerPrefixIsRefusedNamingTheFile) {
  std::string longer = "/" + std::string(kPh.size(), 'x');
  std::string in = "x\0"s + std::string(kPh) + "/lib\0"s;
  std::string msg;
  EXPECT_EQ(kind_of([&] { replace_prefix_binary(in, kPh, longer, "zlib: lib/libz.so"); }, &msg),
            ErrorKind::BadInput);
  EXPECT_NE(msg.find("zlib: lib/libz.so"), std::string::npos) << msg;
  EXPECT_NE(msg.find("longer"), std::string::npos) << msg;
  // No occurrence: nothing to fit, nothing refused.
  EXPECT_EQ(replace_prefix_binary("no placeholder\0"s, kPh, longer, "f"), "no placeholder\0"s);
}

TEST(CondaBinaryReplace, PartialPlaceholderIsLeftAlone) {
  std::string in = "/opt/anaconda1anaconda2\0"s;
  EXPECT_EQ(replace_prefix_binary(in, kPh, "/p", "f"), in);
}

TEST(CondaShebang, LongShebangBecomesEnv) {
  std::string prefix = "/" + std::string(130, 'd');
  std::string script = "#!" + std::string(kPh) + "/bin/python3.11 -u\nprint(1)\n";
  std::string out = replace_prefix(script, FileMode::Text, kPh, prefix, "bin/x");
  EXPECT_EQ(out, "#!/usr/bin/env python3.11 -u\nprint(1)\n");
  // Short enough: kept.
  out = replace_prefix(script, FileMode::Text, kPh, "/opt/conda", "bin/x");
  EXPECT_EQ(out, "#!/opt/conda/bin/python3.11 -u\nprint(1)\n");
  // Not a shebang at the start: untouched.
  std::string not_first = "x\n#!" + prefix + "/bin/python\n";
  EXPECT_EQ(shorten_long_shebang(not_first), not_first);
  // Binary files keep their bytes' layout: no shebang rewriting.
  std::string bin = "#!" + std::string(kPh) + "/bin/python\0"s;
  EXPECT_EQ(replace_prefix(bin, FileMode::Binary, kPh, "/p", "f").size(), bin.size());
}

TEST(CondaNoarchPython, TargetsAndSitePackages) {
  EXPECT_EQ(site_packages_dir("3.11", ""), "lib/python3.11/site-packages");
  EXPECT_EQ(site_packages_dir("3.13", "lib/python3.13t/site-packages"),
            "lib/python3.13t/site-packages");
  EXPECT_EQ(kind_of([] { site_packages_dir("3", ""); }), ErrorKind::BadInput);
  EXPECT_EQ(kind_of([] { site_packages_dir("3.11/../..", ""); }), ErrorKind::BadInput);
  EXPECT_EQ(kind_of([] { site_packages_dir("3.11", "../../etc"); }), ErrorKind::BadInput);
  std::string sp = "lib/python3.11/site-packages";
  EXPECT_EQ(noarch_python_target("site-packages/sample.py", sp),
            "lib/python3.11/site-packages/sample.py");
  EXPECT_EQ(noarch_python_target("python-scripts/tool", sp), "bin/tool");
  EXPECT_EQ(noarch_python_target("site-packages-extra/x", sp), "site-packages-extra/x");
  EXPECT_EQ(noarch_python_target("etc/conda/x", sp), "etc/conda/x");
}

TEST(CondaNoarchPython, EntryPointScriptIsCondas) {
  EntryPoint ep{"bsdiff4", "bsdiff4.cli", "main_bsdiff4"};
  std::string s = entry_point_script(ep, "/opt/conda/bin/python3.11");
  EXPECT_EQ(s,
            "#!/opt/conda/bin/python3.11\n"
            "# -*- coding: utf-8 -*-\n"
            "import re\n"
            "import sys\n"
            "\n"
            "from bsdiff4.cli import main_bsdiff4\n"
            "\n"
            "if __name__ == '__main__':\n"
            "    sys.argv[0] = re.sub(r'(-script\\.pyw?|\\.exe)?$', '', sys.argv[0])\n"
            "    sys.exit(main_bsdiff4())\n");
  // A dotted function imports its first part.
  EntryPoint dotted{"tool", "pkg.mod", "Main.run"};
  s = entry_point_script(dotted, "/p/bin/python3.11");
  EXPECT_NE(s.find("from pkg.mod import Main\n"), std::string::npos) << s;
  EXPECT_NE(s.find("sys.exit(Main.run())"), std::string::npos) << s;
}

TEST(CondaNoarchPython, LongInterpreterPathUsesTheShTrampoline) {
  std::string python = "/" + std::string(130, 'd') + "/bin/python3.11";
  EXPECT_EQ(entry_point_shebang(python),
            "#!/bin/sh\n'''exec' \"" + python + "\" \"$0\" \"$@\"\n' '''\n");
  EXPECT_EQ(entry_point_shebang("/opt/conda/bin/python3.11"), "#!/opt/conda/bin/python3.11\n");
}

}  // namespace
