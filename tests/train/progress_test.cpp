// Tests for the progress bar text, durations and the stop-signal flag.
#include "dpok/train/progress.h"

#include <gtest/gtest.h>

#include <csignal>

namespace dpok::train {
namespace {

TEST(ProgressBar, RendersStepLossAccuracyThroughputEta) {
  std::FILE* sink = std::tmpfile();
  ProgressBar bar(10, 0, sink);
  auto text = bar.render(5, {0.6931, 0.75, 1234.0}, 10.0);
  EXPECT_NE(text.find("5/10"), std::string::npos) << text;
  EXPECT_NE(text.find("loss 0.6931"), std::string::npos);
  EXPECT_NE(text.find("acc 0.750"), std::string::npos);
  EXPECT_NE(text.find("1234 tok/s"), std::string::npos);
  EXPECT_NE(text.find("eta 10s"), std::string::npos);
  bar.update(10, {}, true);  // not a TTY: prints a plain line
  bar.finish();
  std::fseek(sink, 0, SEEK_SET);
  char buffer[256] = {};
  ASSERT_NE(std::fgets(buffer, sizeof(buffer), sink), nullptr);
  EXPECT_NE(std::string(buffer).find("10/10"), std::string::npos);
  EXPECT_EQ(std::string(buffer).find('\r'), std::string::npos);
  std::fclose(sink);
}

TEST(ProgressBar, EtaCountsFromResumeStep) {
  ProgressBar bar(100, 50, stderr);
  EXPECT_NE(bar.render(60, {}, 10.0).find("eta 40s"), std::string::npos);
}

TEST(FormatDuration, Units) {
  EXPECT_EQ(format_duration(12.2), "12s");
  EXPECT_EQ(format_duration(185), "3m05s");
  EXPECT_EQ(format_duration(3720), "1h02m");
  EXPECT_EQ(format_duration(-1), "?");
}

TEST(StopSignal, SetsFlagAndRestores) {
  {
    StopSignal stop;
    EXPECT_FALSE(stop.requested());
    std::raise(SIGTERM);
    EXPECT_TRUE(stop.requested());
    EXPECT_EQ(stop.signal_number(), SIGTERM);
  }
  StopSignal again;
  EXPECT_FALSE(again.requested());
}

}  // namespace
}  // namespace dpok::train
