// ReconnectingSource: a camera that stalls, fails or ends is reopened with back-off, its frame
// times never go back, and a live stream's outage counts as time.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "gridwatch/vision/frame_source.h"
#include "pipeline_fixtures.h"

namespace gridwatch::vision {
namespace {

using namespace fixtures;

// A fake steady clock the tests move: by the frames a stream gives and by the waits.
struct FakeClock {
  ReconnectingSource::Clock::time_point t{};
  std::vector<std::chrono::milliseconds> sleeps;
  auto now() { return [this] { return t; }; }
  auto sleep() {
    return [this](std::chrono::milliseconds d) {
      sleeps.push_back(d);
      t += d;
      return true;
    };
  }
};

TEST(ReconnectingSource, StallsReconnectWithBackoffAndKeepTimeMonotonic) {
  const cv::Mat bg = background(4);
  FakeClock clock;
  int opens = 0;
  std::vector<std::string> states;
  ReconnectingSource src(
      [&]() -> Result<std::unique_ptr<FrameSource>> {
        ++opens;
        if (opens == 2 || opens == 3) return fail(ErrorCode::kUnavailable, "camera: connection refused");
        // Five frames 3 s apart: each stream stays up longer than stable_after (10 s).
        auto s = std::make_unique<FakeSource>([&](int) { clock.t += std::chrono::seconds{3}; return bg.clone(); }, 5, 10);
        return std::unique_ptr<FrameSource>(std::move(s));
      },
      {.sleep = clock.sleep(), .now = clock.now(),
       .on_state = [&](SourceState s, const std::string&) { states.emplace_back(to_string(s)); }});
  double last = -1;
  for (int i = 0; i < 12; ++i) {
    auto f = src.next();
    ASSERT_TRUE(f.has_value()) << f.error().message;
    ASSERT_TRUE(f->has_value());
    EXPECT_GT((*f)->media_ms, last);
    last = (*f)->media_ms;
  }
  EXPECT_EQ(opens, 5);
  // A stream that worked is reopened at once; failed openings back off; the back-off starts
  // over once a stream has worked for stable_after.
  EXPECT_EQ(clock.sleeps, (std::vector<std::chrono::milliseconds>{std::chrono::milliseconds{500}, std::chrono::milliseconds{1000}}));
  EXPECT_EQ(states, (std::vector<std::string>{"connected", "stalled", "reconnecting", "reconnecting", "connected",
                                              "stalled", "connected"}));
  EXPECT_EQ(src.reconnects(), 2);
}

// A live stream away for a while: its next frames carry the time that passed (a tracker ages its
// objects by it), a file's next pass continues one frame on.
TEST(ReconnectingSource, ALiveStreamsOutageCountsAsTime) {
  const cv::Mat bg = background(4);
  FakeClock clock;
  int opens = 0;
  auto opener = [&]() -> Result<std::unique_ptr<FrameSource>> {
    ++opens;
    if (opens >= 2 && opens <= 5) return fail(ErrorCode::kUnavailable, "camera: connection refused");
    // Ten frames 100 ms apart, then the stream fails.
    auto s = std::make_unique<FakeSource>([&](int) { clock.t += std::chrono::milliseconds{100}; return bg.clone(); }, 10, 10);
    s->stall_at_ = 10;
    return std::unique_ptr<FrameSource>(std::move(s));
  };
  ReconnectingSource live(opener, {.sleep = clock.sleep(), .now = clock.now()});
  std::vector<double> ms;
  for (int i = 0; i < 12; ++i) {
    auto f = live.next();
    ASSERT_TRUE(f.has_value() && f->has_value());
    ms.push_back((*f)->media_ms);
  }
  // Frame 10 is the first of the second stream. The first stream was up less than stable_after,
  // so its stall waited too: 1 s of frames, then 0.5 (the stall) + 1 + 2 + 4 + 8 s (four failed
  // openings) = 16.5 s after the first opening.
  EXPECT_NEAR(ms[9], 900, 1e-6);
  EXPECT_NEAR(ms[10], 1000 + 15500, 1e-6);
  EXPECT_GT(ms[11], ms[10]);
}

// A camera that accepts the connection, sends one frame and drops it keeps backing off instead
// of being reopened in a tight loop (the clock does not move: each stream fails at once).
TEST(ReconnectingSource, AStreamThatFailsRightAfterItsFirstFrameBacksOff) {
  const cv::Mat bg = background(4);
  FakeClock clock;
  int opens = 0;
  ReconnectingSource src(
      [&]() -> Result<std::unique_ptr<FrameSource>> {
        ++opens;
        auto s = std::make_unique<FakeSource>([&](int) { return bg.clone(); }, 2, 10);
        s->stall_at_ = 1;  // one frame, then the connection is reset
        return std::unique_ptr<FrameSource>(std::move(s));
      },
      {.max_backoff = std::chrono::milliseconds{4000}, .sleep = clock.sleep(), .now = clock.now()});
  for (int i = 0; i < 6; ++i) {
    auto f = src.next();
    ASSERT_TRUE(f.has_value() && f->has_value());
  }
  EXPECT_EQ(opens, 6);
  using std::chrono::milliseconds;
  EXPECT_EQ(clock.sleeps, (std::vector<milliseconds>{milliseconds{500}, milliseconds{1000}, milliseconds{2000},
                                                     milliseconds{4000}, milliseconds{4000}}));
  EXPECT_EQ(src.reconnects(), 5);
}

// A file ends, or starts again when it loops (no reconnect, time going on); a stop during a wait
// ends next() with nothing.
TEST(ReconnectingSource, AFileEndsOrLoopsAndAStopEndsTheWait) {
  const cv::Mat bg = background(4);
  auto file = [&]() -> Result<std::unique_ptr<FrameSource>> {
    return std::unique_ptr<FrameSource>(std::make_unique<FakeSource>([&](int) { return bg.clone(); }, 3, 10));
  };
  std::vector<std::string> states;
  ReconnectingSource once(file, {.file = true, .on_state = [&](SourceState s, const std::string&) { states.emplace_back(to_string(s)); }});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(once.next()->has_value());
  EXPECT_FALSE(once.next()->has_value());
  EXPECT_FALSE(once.next()->has_value()) << "an ended file stays ended";
  EXPECT_EQ(states, (std::vector<std::string>{"connected", "ended"}));

  ReconnectingSource looped(file, {.file = true, .loop = true});
  double last = -1;
  for (int i = 0; i < 9; ++i) {
    auto f = looped.next();
    ASSERT_TRUE(f.has_value() && f->has_value());
    EXPECT_GT((*f)->media_ms, last);
    last = (*f)->media_ms;
  }
  EXPECT_DOUBLE_EQ(last, 800.0) << "three passes of 0, 100, 200 ms, each one frame after the last";
  EXPECT_EQ(looped.reconnects(), 0);

  ReconnectingSource refused([]() -> Result<std::unique_ptr<FrameSource>> { return fail(ErrorCode::kUnavailable, "refused"); },
                             {.sleep = [](std::chrono::milliseconds) { return false; }});
  auto f = refused.next();
  ASSERT_TRUE(f.has_value());
  EXPECT_FALSE(f->has_value());
}

// A stream that opens but never gives a frame (a device held by another process) is retried
// with back-off, not reopened at full speed.
TEST(ReconnectingSource, AStreamThatOpensButGivesNothingBacksOff) {
  const cv::Mat bg = background(4);
  int opens = 0;
  std::vector<std::chrono::milliseconds> sleeps;
  ReconnectingSource src(
      [&]() -> Result<std::unique_ptr<FrameSource>> {
        ++opens;
        const int frames = opens <= 3 ? 0 : 5;  // three empty streams, then a good one
        return std::unique_ptr<FrameSource>(std::make_unique<FakeSource>([&](int) { return bg.clone(); }, frames, 10));
      },
      {.sleep = [&](std::chrono::milliseconds d) {
        sleeps.push_back(d);
        return true;
      }});
  auto f = src.next();
  ASSERT_TRUE(f.has_value()) << f.error().message;
  ASSERT_TRUE(f->has_value());
  EXPECT_EQ(opens, 4);
  EXPECT_EQ(sleeps, (std::vector<std::chrono::milliseconds>{std::chrono::milliseconds{500}, std::chrono::milliseconds{1000},
                                                            std::chrono::milliseconds{2000}}));
}

TEST(ReconnectingSource, GivesUpAfterMaxAttemptsWithTheLastError) {
  ReconnectingSource src([]() -> Result<std::unique_ptr<FrameSource>> { return fail(ErrorCode::kUnavailable, "rtsp://cam: 401 Unauthorized"); },
                         {.max_attempts = 3, .sleep = [](std::chrono::milliseconds) { return true; }});
  auto f = src.next();
  ASSERT_FALSE(f.has_value());
  EXPECT_EQ(f.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(f.error().message.find("401 Unauthorized"), std::string::npos);
}

}  // namespace
}  // namespace gridwatch::vision
