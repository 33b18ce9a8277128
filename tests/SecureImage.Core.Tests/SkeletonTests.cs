using SecureImage.Core.Imaging;

namespace SecureImage.Core.Tests;

public sealed class SkeletonTests
{
    [Fact]
    public void Jpeg_maps_to_its_media_type() => Assert.Equal("image/jpeg", ImageFormat.Jpeg.ContentType());
}
