// The live event hub: numbering, what it keeps, the text each stream sends, and its listener.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "gridwatch/center/events.h"

namespace gridwatch::center {
namespace {

TEST(EventHub, EventsAreNumberedKeptAndWrittenOnce) {
  EventHub hub(3);
  int notices = 0;
  hub.on_publish([&] { ++notices; });
  for (int i = 1; i <= 5; ++i) hub.publish(fmt::format("c{}", i), {{"type", "new"}, {"n", i}});
  EXPECT_EQ(notices, 5);
  EXPECT_EQ(hub.last(), 5u);
  // Only the latest three are kept: a client away too long gets what is left.
  auto kept = hub.since(0);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[0].seq, 3u);
  EXPECT_EQ(kept[0].case_id, "c3");
  EXPECT_EQ(kept[0].text, "id: 3\nevent: case\ndata: {\"n\":3,\"type\":\"new\"}\n\n");
  EXPECT_EQ(hub.since(4).size(), 1u);
  EXPECT_TRUE(hub.since(5).empty());
  // text_since moves the reader's place to the last event it wrote.
  uint64_t after = 3;
  EXPECT_EQ(hub.text_since(after), kept[1].text + kept[2].text);
  EXPECT_EQ(after, 5u);
  EXPECT_EQ(hub.text_since(after), "");
  EXPECT_EQ(after, 5u);
}

TEST(EventHub, TextThatIsNotUtf8IsReplacedNotThrown) {
  EventHub hub;
  hub.publish("c1", {{"note", std::string("bad \xFF byte")}});
  EXPECT_NE(hub.since(0).at(0).text.find("bad \xEF\xBF\xBD byte"), std::string::npos);
}

TEST(EventHub, AClosedHubTakesNoMoreEventsAndWakesItsListener) {
  EventHub hub;
  int notices = 0;
  hub.on_publish([&] { ++notices; });
  hub.publish("c1", {{"type", "new"}});
  hub.close();
  EXPECT_TRUE(hub.closed());
  EXPECT_EQ(notices, 2);  // the event, then the close: streams end
  hub.publish("c2", {{"type", "new"}});
  EXPECT_EQ(hub.last(), 1u);
  EXPECT_EQ(notices, 2);
}

}  // namespace
}  // namespace gridwatch::center
