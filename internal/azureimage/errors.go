package azureimage

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"gold-standard-images/internal/shorterr"
)

// oneLine is err in one line: an HTTP error as its status, code and first
// line of message; a credential error as what to do about it.
func oneLine(err error) error {
	var re *azcore.ResponseError
	var auth *azidentity.AuthenticationFailedError
	switch {
	case err == nil:
		return nil
	case entraCode.MatchString(err.Error()):
		return shorterr.New("Azure refused the credentials ("+entraCode.FindString(err.Error())+"; expired or wrong: "+credentialAdvice+")", err)
	case strings.Contains(err.Error(), "DefaultAzureCredential: failed to acquire a token"):
		// The chain's error lists every credential it tried, over many lines.
		return shorterr.New("no Azure credentials found that work (tried the environment, workload and managed identity, az and azd): "+credentialAdvice, err)
	case errors.As(err, &auth):
		return shorterr.New("Azure refused the credentials (expired or wrong: "+credentialAdvice+")", err)
	case errors.As(err, &re):
		return shorterr.New(responseLine(re), err)
	}
	return shorterr.New(shorterr.FirstLine(err.Error()), err)
}

// entraCode finds Microsoft Entra ID's error code (AADSTS7000215: invalid
// client secret, AADSTS700082: expired refresh token, ...) in an error.
var entraCode = regexp.MustCompile(`AADSTS\d+`)

const credentialAdvice = "run az login, or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET, or run where a managed identity is assigned"

// statusOf is the HTTP status of an SDK error, 0 if it has none.
func statusOf(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// responseLine is "HTTP 403 AuthorizationFailed: <first line of message>".
func responseLine(re *azcore.ResponseError) string {
	code, msg := re.ErrorCode, ""
	if re.RawResponse != nil {
		if body, err := runtime.Payload(re.RawResponse); err == nil {
			c, m := bodyError(body)
			if code == "" {
				code = c
			}
			msg = m
		}
	}
	line := fmt.Sprintf("HTTP %d", re.StatusCode)
	if code != "" {
		line += " " + code
	}
	if msg != "" {
		line += ": " + shorterr.FirstLine(msg)
	} else if code == "" {
		line += " " + http.StatusText(re.StatusCode)
	}
	return line
}

// bodyError reads the code and message of an ARM (JSON) or storage (XML)
// error body.
func bodyError(body []byte) (code, msg string) {
	var arm struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal(body, &arm) == nil && arm.Error.Code != "" {
		return arm.Error.Code, arm.Error.Message
	}
	var st struct{ Code, Message string }
	if xml.Unmarshal(body, &st) == nil {
		return st.Code, st.Message
	}
	return "", ""
}
