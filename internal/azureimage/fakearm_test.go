package azureimage

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// staticToken is a TokenCredential handing out one bearer token.
type staticToken string

func (s staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// failingToken is a TokenCredential that fails with err.
type failingToken struct{ err error }

func (f failingToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{}, f.err
}

const (
	testSub   = "00000000-1111-2222-3333-444444444444"
	testGroup = "images-rg"
)

// fakeARM speaks the resource manager REST calls Publish makes: GET of the
// resource group and storage account, GET and PUT of disks and images, PUT
// answered 202 (disks) or 201 (images) with an Azure-AsyncOperation URL polled until Succeeded.
type fakeARM struct {
	*httptest.Server
	mu        sync.Mutex
	resources map[string]map[string]any // path (lower case) -> resource
	pending   map[string]int            // operation id -> polls left before Succeeded
	opTarget  map[string]string         // operation id -> resource path
	opFail    string                    // if set, operations end Failed with this code
	polls     int                       // InProgress polls before Succeeded
	faults    map[string][]int          // "METHOD kind" -> statuses answered first
	puts      map[string]map[string]any // kind -> last PUT body
	putCount  int
	noGroup   bool
	noAccount bool
	forever   bool // operations never finish
}

func newFakeARM(t *testing.T) *fakeARM {
	t.Helper()
	f := &fakeARM{resources: map[string]map[string]any{}, pending: map[string]int{}, opTarget: map[string]string{},
		faults: map[string][]int{}, puts: map[string]map[string]any{}, polls: 2}
	f.Server = httptest.NewTLSServer(f)
	t.Cleanup(f.Close)
	return f
}

// kind is "group", "account", "disk", "image" or "operation".
func kind(path string) string {
	p := strings.ToLower(path)
	switch {
	case strings.HasPrefix(p, "/operations/"):
		return "operation"
	case strings.Contains(p, "/microsoft.compute/disks/"):
		return "disk"
	case strings.Contains(p, "/microsoft.compute/images/"):
		return "image"
	case strings.Contains(p, "/microsoft.storage/storageaccounts/"):
		return "account"
	case strings.Count(p, "/") == 4 && strings.Contains(p, "/resourcegroups/"):
		return "group"
	}
	return ""
}

func armError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-ms-error-code", code)
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%q,"message":%q}}`, code, msg)
}

func (f *fakeARM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer test-token" {
		armError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "The access token is invalid.")
		return
	}
	k := kind(r.URL.Path)
	key := r.Method + " " + k
	if q := f.faults[key]; len(q) > 0 {
		f.faults[key] = q[1:]
		switch q[0] {
		case http.StatusForbidden:
			armError(w, q[0], "AuthorizationFailed", "The client 'x' with object id 'y' does not have authorization to perform action 'Microsoft.Compute/"+k+"s/write' over scope '/subscriptions/"+testSub+"'.\nIf access was recently granted, please refresh your credentials.")
		default:
			armError(w, q[0], "Throttled", "try again")
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	path := strings.ToLower(r.URL.Path)
	switch {
	case k == "group" && r.Method == http.MethodGet:
		if f.noGroup {
			armError(w, http.StatusNotFound, "ResourceGroupNotFound", "Resource group '"+testGroup+"' could not be found.")
			return
		}
		fmt.Fprintf(w, `{"id":%q,"name":%q,"location":"westeurope"}`, r.URL.Path, testGroup)
	case k == "account" && r.Method == http.MethodGet:
		if f.noAccount {
			armError(w, http.StatusNotFound, "ResourceNotFound", "The Resource 'Microsoft.Storage/storageAccounts/x' was not found.")
			return
		}
		fmt.Fprintf(w, `{"id":%q,"kind":"StorageV2","location":"westeurope"}`, r.URL.Path)
	case (k == "disk" || k == "image") && r.Method == http.MethodGet:
		res, ok := f.resources[path]
		if !ok {
			armError(w, http.StatusNotFound, "ResourceNotFound", "not found")
			return
		}
		json.NewEncoder(w).Encode(res)
	case (k == "disk" || k == "image") && r.Method == http.MethodPut:
		var body map[string]any
		data, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(data, &body); err != nil {
			armError(w, http.StatusBadRequest, "InvalidRequestContent", err.Error())
			return
		}
		f.puts[k] = body
		f.putCount++
		body["id"] = r.URL.Path
		body["name"] = r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		props, _ := body["properties"].(map[string]any)
		if props == nil {
			props = map[string]any{}
			body["properties"] = props
		}
		props["provisioningState"] = "Creating"
		f.resources[path] = body
		op := fmt.Sprintf("op%d", f.putCount)
		f.pending[op] = f.polls
		f.opTarget[op] = path
		w.Header().Set("Azure-AsyncOperation", "https://"+r.Host+"/operations/"+op+"?api-version=2024-03-02")
		w.WriteHeader(map[string]int{"disk": http.StatusAccepted, "image": http.StatusCreated}[k]) // as Azure answers
		json.NewEncoder(w).Encode(body)
	case k == "operation" && r.Method == http.MethodGet:
		op := strings.TrimPrefix(r.URL.Path, "/operations/")
		left, ok := f.pending[op]
		switch {
		case !ok:
			armError(w, http.StatusNotFound, "NotFound", "no operation "+op)
		case f.forever || left > 0:
			f.pending[op] = left - 1
			fmt.Fprintf(w, `{"name":%q,"status":"InProgress"}`, op)
		case f.opFail != "":
			f.resources[f.opTarget[op]]["properties"].(map[string]any)["provisioningState"] = "Failed"
			fmt.Fprintf(w, `{"name":%q,"status":"Failed","error":{"code":%q,"message":"the VHD is not a fixed VHD\nsecond line"}}`, op, f.opFail)
		default:
			f.resources[f.opTarget[op]]["properties"].(map[string]any)["provisioningState"] = "Succeeded"
			fmt.Fprintf(w, `{"name":%q,"status":"Succeeded"}`, op)
		}
	default:
		armError(w, http.StatusBadRequest, "UnknownCall", r.Method+" "+r.URL.Path)
	}
}

// put adds a resource as if made by an earlier run.
func (f *fakeARM) put(kind, name, sha, state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := "/subscriptions/" + testSub + "/resourceGroups/" + testGroup + "/providers/Microsoft.Compute/" + kind + "s/" + name
	f.resources[strings.ToLower(id)] = map[string]any{"id": id, "name": name, "location": "westeurope",
		"tags": map[string]any{"sha256": sha}, "properties": map[string]any{"provisioningState": state}}
}

// options points every client at f (and, for blobs, at a plain-HTTP
// emulator through the same transport) with fast retries.
func (f *fakeARM) options(o Options) Options {
	o.Client.Transport = f.Client()
	o.Client.Retry = policy.RetryOptions{MaxRetries: 3, RetryDelay: time.Millisecond, MaxRetryDelay: 5 * time.Millisecond}
	o.PollInterval = time.Millisecond
	return o
}
