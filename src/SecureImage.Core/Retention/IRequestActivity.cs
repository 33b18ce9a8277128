namespace SecureImage.Core.Retention;

/// <summary>How many client requests (uploads, downloads, links, Kakao skills) the service is serving right now.</summary>
public interface IRequestActivity
{
    int RequestsInFlight { get; }
}
