#include "drivers/docker/log_demux.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using ::testing::ElementsAreArray;

std::string Frame(int stream, const std::string& payload) {
  std::string out(8, '\0');
  out[0] = static_cast<char>(stream);
  const uint32_t n = static_cast<uint32_t>(payload.size());
  out[4] = static_cast<char>(n >> 24);
  out[5] = static_cast<char>(n >> 16);
  out[6] = static_cast<char>(n >> 8);
  out[7] = static_cast<char>(n);
  return out + payload;
}

using Line = std::pair<LogStream, std::string>;
constexpr LogStream kOut = LogStream::kStdout;
constexpr LogStream kErr = LogStream::kStderr;

struct Case {
  std::string name;
  std::string stream;
  size_t max_line = 16;
  std::vector<Line> want;  // after Finish()
};

// Feeds `input` in pieces of `piece` bytes, then finishes.
std::vector<Line> Demux(const std::string& input, size_t max_line, size_t piece) {
  LogDemuxer demux(max_line);
  std::vector<Line> got;
  auto emit = [&got](LogStream s, absl::string_view line) { got.emplace_back(s, line); };
  for (size_t i = 0; i < input.size(); i += piece) {
    EXPECT_THAT(demux.Feed(absl::string_view(input).substr(i, piece), emit), IsOk());
  }
  demux.Finish(emit);
  return got;
}

class LogDemuxerTableTest : public ::testing::TestWithParam<Case> {};

TEST_P(LogDemuxerTableTest, EmitsLinesForEverySplitOfTheInput) {
  const Case& c = GetParam();
  for (size_t piece : {size_t{1}, size_t{3}, size_t{8}, size_t{9}, c.stream.size() + 1}) {
    EXPECT_THAT(Demux(c.stream, c.max_line, piece), ElementsAreArray(c.want))
        << "piece size " << piece;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, LogDemuxerTableTest,
    ::testing::Values(
        Case{"OneLine", Frame(1, "hello\n"), 16, {{kOut, "hello"}}},
        Case{"TwoLinesOneFrame", Frame(1, "a\nb\n"), 16, {{kOut, "a"}, {kOut, "b"}}},
        Case{"LineAcrossFrames", Frame(1, "hel") + Frame(1, "lo\n"), 16, {{kOut, "hello"}}},
        Case{"EmptyLines", Frame(2, "\n\n"), 16, {{kErr, ""}, {kErr, ""}}},
        Case{"StreamsKeepSeparatePartialLines",
             Frame(1, "out-") + Frame(2, "err-") + Frame(1, "a\n") + Frame(2, "b\n"),
             16,
             {{kOut, "out-a"}, {kErr, "err-b"}}},
        Case{"LongLineInPieces",
             Frame(1, std::string(10, 'x') + "\n"),
             4,
             {{kOut, "xxxx"}, {kOut, "xxxx"}, {kOut, "xx"}}},
        Case{"LineOfExactlyMax", Frame(1, "abcd\nef\n"), 4, {{kOut, "abcd"}, {kOut, "ef"}}},
        Case{"PartialLineAtEnd", Frame(1, "done\ntail"), 16, {{kOut, "done"}, {kOut, "tail"}}},
        Case{"StdinAndSystemStreams",
             Frame(0, "in\n") + Frame(3, "sys\n"),
             16,
             {{kOut, "in"}, {kErr, "sys"}}},
        Case{"EmptyFrame", Frame(1, "") + Frame(1, "x\n"), 16, {{kOut, "x"}}}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(LogDemuxerTest, CorruptHeaderIsInternal) {
  LogDemuxer demux(16);
  std::string bad = Frame(1, "x\n");
  bad[2] = 7;

  EXPECT_THAT(demux.Feed(bad, [](LogStream, absl::string_view) {}),
              StatusIs(absl::StatusCode::kInternal));
}

TEST(LogDemuxerTest, BufferedBytesStayBelowTwoLines) {
  LogDemuxer demux(1024);
  size_t lines = 0;
  const std::string flood = Frame(1, std::string(100000, 'y')) + Frame(2, std::string(5000, 'z'));

  ASSERT_THAT(demux.Feed(flood, [&lines](LogStream, absl::string_view) { ++lines; }), IsOk());

  EXPECT_EQ(lines, 97u + 4u);
  EXPECT_LE(demux.buffered_bytes(), 2u * 1024u);
}

}  // namespace
}  // namespace fnrunner
