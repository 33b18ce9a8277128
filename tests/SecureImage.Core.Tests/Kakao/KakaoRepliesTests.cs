using SecureImage.Core.Kakao;

namespace SecureImage.Core.Tests.Kakao;

public sealed class KakaoRepliesTests
{
    [Fact]
    public void The_final_answer_counts_stored_and_failed_images_and_carries_the_ids()
    {
        var a = Guid.NewGuid();
        var b = Guid.NewGuid();
        var response = KakaoReplies.Final(Guid.NewGuid(), [new(1, b, null), new(0, a, null), new(2, null, KakaoFetchErrors.Expired)]);

        var text = response.Template!.Outputs.Single().SimpleText.Text;
        Assert.Contains("사진 2장을 안전하게 저장했어요.", text, StringComparison.Ordinal);
        Assert.Contains("1장은 저장하지 못했어요: 사진 링크가 만료되었어요 (1장)", text, StringComparison.Ordinal);
        Assert.Equal($"{a:D},{b:D}", response.Data!["imageIds"]);
        Assert.Equal("2", response.Data["imageCount"]);
        Assert.Equal("1", response.Data["failedCount"]);
        Assert.Equal(KakaoReplies.Statuses.Partial, response.Data["status"]);
    }

    [Fact]
    public void Every_answer_is_a_well_formed_skill_response()
    {
        var many = Enumerable.Range(0, 500).Select(i => new KakaoImageOutcome(i, null, $"code-{i}")).ToList();
        foreach (var response in new[] { KakaoReplies.ConsentRequired(), KakaoReplies.Invalid(), KakaoReplies.NoImages(), KakaoReplies.Unavailable(), KakaoReplies.Received(Guid.NewGuid(), 3), KakaoReplies.Final(Guid.NewGuid(), many) })
        {
            Assert.Equal("2.0", response.Version);
            Assert.InRange(response.Template!.Outputs.Count, 1, SkillResponse.MaxOutputs);
            Assert.All(response.Template.Outputs, o => Assert.InRange(o.SimpleText.Text.Length, 1, SkillResponse.MaxTextLength));
            Assert.InRange(response.Template.QuickReplies!.Count, 0, SkillResponse.MaxQuickReplies);
        }
    }

    [Fact]
    public void The_outcomes_of_a_request_are_read_from_its_queue_rows_and_the_count_beyond_the_limit()
    {
        var requestId = Guid.NewGuid();
        var image = Guid.NewGuid();
        var deadline = DateTimeOffset.UnixEpoch;
        var rows = new[]
        {
            new KakaoFetchStatus(Guid.NewGuid(), requestId, 0, KakaoFetchState.Done, 1, image, null, deadline),
            new KakaoFetchStatus(Guid.NewGuid(), requestId, 1, KakaoFetchState.Pending, 2, null, KakaoFetchErrors.FetchFailed, deadline),
            new KakaoFetchStatus(Guid.NewGuid(), requestId, 2, KakaoFetchState.Failed, 0, null, KakaoFetchErrors.RefusedUrl, deadline),
            new KakaoFetchStatus(Guid.NewGuid(), requestId, 3, KakaoFetchState.Failed, 3, null, null, deadline),
        };

        var outcomes = KakaoImageOutcome.FromQueue(rows, refusedBeyondLimit: 2);

        Assert.Equal(
            [new(0, image, null), new(1, null, null), new(2, null, KakaoFetchErrors.RefusedUrl), new(3, null, KakaoFetchErrors.FetchFailed), new(4, null, KakaoFetchErrors.TooMany), new KakaoImageOutcome(5, null, KakaoFetchErrors.TooMany)],
            outcomes);
        Assert.Equal([new KakaoImageOutcome(0, null, KakaoFetchErrors.TooMany)], KakaoImageOutcome.FromQueue([], 1));
    }
}
