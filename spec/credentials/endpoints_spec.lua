-- Where the providers find the STS and IMDS endpoints (credentials/sts.lua, imds.lua).
local credentials = require("gameliftstreams.credentials")
local C = require("support.credentials")

local env = C.env

describe("endpoints of the credential services", function()
  it("uses regional STS endpoints, us-east-1 when no region is set", function()
    assert.equal("https://sts.us-east-1.amazonaws.com/", credentials.sts_endpoint({ getenv = env() }, {}))
    assert.equal("https://sts.eu-west-1.amazonaws.com/", credentials.sts_endpoint({ getenv = env() }, { region = "eu-west-1" }))
    assert.equal("https://sts.ap-south-1.amazonaws.com/",
      credentials.sts_endpoint({ getenv = env{ AWS_REGION = "ap-south-1" } }, { region = "eu-west-1" }))
    assert.equal("https://sts.cn-north-1.amazonaws.com.cn/", credentials.sts_endpoint({ region = "cn-north-1", getenv = env() }, {}))
    local url, region = credentials.sts_endpoint({ region = "us-west-2", sts_endpoint = "http://127.0.0.1:9/x",
      getenv = env() }, {})
    assert.equal("http://127.0.0.1:9/x", url)
    assert.equal("us-west-2", region)
    assert.equal("http://sts.env/", credentials.sts_endpoint({ getenv = env{ AWS_ENDPOINT_URL_STS = "http://sts.env" } }, {}))
  end)

  it("picks the IMDS endpoint from option, environment, profile, or the IPv4/IPv6 default", function()
    assert.equal("http://169.254.169.254", credentials.imds_endpoint({ getenv = env() }, {}))
    assert.equal("http://[fd00:ec2::254]", credentials.imds_endpoint({ getenv = env{
      AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE = "IPv6" } }, {}))
    assert.equal("http://[fd00:ec2::254]", credentials.imds_endpoint({ getenv = env() },
      { ec2_metadata_service_endpoint_mode = "ipv6" }))
    assert.equal("http://p", credentials.imds_endpoint({ getenv = env() }, { ec2_metadata_service_endpoint = "http://p/" }))
    assert.equal("http://e", credentials.imds_endpoint({ getenv = env{ AWS_EC2_METADATA_SERVICE_ENDPOINT = "http://e" } },
      { ec2_metadata_service_endpoint = "http://p" }))
    local _, v1_off = credentials.imds_endpoint({ getenv = env{ AWS_EC2_METADATA_V1_DISABLED = "true" } }, {})
    assert.is_true(v1_off)
  end)
end)
