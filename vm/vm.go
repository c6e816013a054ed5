package vm

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// DefaultBudget is how long one evaluation may run unless configured.
const DefaultBudget = 30 * time.Second

// Options configure a VM. The zero value of every field but Store is usable.
type Options struct {
	// Store persists the image. Required.
	Store Store
	// Budget bounds the wall time of one top-level evaluation (default 30 s).
	Budget time.Duration
	// Transcript receives print and Transcript output (default: discarded).
	Transcript io.Writer
	// NotUnderstood, if set, is asked to resolve a message not understood
	// before the default MessageNotUnderstood error is raised.
	NotUnderstood NotUnderstood
	// Logger receives diagnostics (default: slog.Default()).
	Logger *slog.Logger
	// CallStackSize bounds recursion depth (default 4096 frames).
	CallStackSize int
	// Clock is the wall clock of os.time, os.clock and os.date and of the
	// times recorded in method history (default time.Now). The wiring
	// passes the host's clock (kernelhost.Host.Now).
	Clock func() time.Time
	// Entropy seeds math.random (default crypto/rand.Reader). The wiring
	// passes the host's source (kernelhost.Host.Entropy).
	Entropy io.Reader
}

// VM runs the image's Lua code over its objects. A VM is not safe for
// concurrent use: one goroutine evaluates at a time (the GUI and servers
// serialise through their own queues).
type VM struct {
	L     *lua.LState
	opts  Options
	store Store
	log   *slog.Logger

	env      *lua.LTable // globals of image code: always empty, see env.go
	builtins *lua.LTable // the standard library visible to image code

	objs    map[OID]*Object         // loaded or faulting persistent objects
	keyBuf  []lua.LValue            // scratch for arm
	touched []*Object               // persistent objects loaded since the last commit
	byTable map[*lua.LTable]*Object // persistent plain tables
	nextOID OID

	srcs      map[*lua.FunctionProto]*funcInfo
	prims     map[string]*lua.LFunction
	primNames map[*lua.LFunction]string

	lastMiss       string // selector of the last lookup that fell off Object
	lastGlobalMiss string

	started time.Time   // Options.Clock when the VM was made (os.clock)
	rng     *mrand.Rand // math.random, seeded from Options.Entropy

	tx      *txn
	author  Author
	ctx     context.Context
	lastErr *Error // traceback captured by the error handler

	lobby, object, trait, message, errorProto, mnu *Object

	mirrorMethods *lua.LTable
	faultMeta     *lua.LTable // shared functions of fault metatables
	objectIndex   *lua.LFunction
	missFn        *lua.LFunction
	tostringFn    *lua.LFunction
	traitSetFn    *lua.LFunction
	handlerFn     *lua.LFunction
	sendFn        *lua.LFunction
	faultIndex    lua.LValue // the shared fault metamethods, for arming objects
	faultNewIndex lua.LValue
	faultLen      lua.LValue
}

// ErrNoImage is returned by Open when the store holds no Lobby.
var ErrNoImage = errors.New("not a Phoenix image (no Lobby)")

// Open starts a VM on an existing image.
func Open(opts Options) (*VM, error) {
	v, err := newVM(opts)
	if err != nil {
		return nil, err
	}
	if _, err := v.store.Load(LobbyOID); err != nil {
		v.Close()
		if errors.Is(err, ErrNotFound) {
			return nil, ErrNoImage
		}
		return nil, err
	}
	if err := v.bootKernel(); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

// Create builds the kernel objects (Lobby, Object, Trait, Message, Error,
// MessageNotUnderstood, Transcript) in an empty store and commits them.
func Create(opts Options) (*VM, error) {
	v, err := newVM(opts)
	if err != nil {
		return nil, err
	}
	if _, err := v.store.Load(LobbyOID); err == nil {
		v.Close()
		return nil, errors.New("vm: store already holds an image")
	}
	if err := v.createKernel(); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

func newVM(opts Options) (*VM, error) {
	if opts.Store == nil {
		return nil, errors.New("vm: Options.Store is required")
	}
	if opts.Budget <= 0 {
		opts.Budget = DefaultBudget
	}
	if opts.Transcript == nil {
		opts.Transcript = io.Discard
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.CallStackSize <= 0 {
		opts.CallStackSize = 4096
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Entropy == nil {
		opts.Entropy = rand.Reader
	}
	rng, err := seededRand(opts.Entropy)
	if err != nil {
		return nil, err
	}
	L := lua.NewState(lua.Options{SkipOpenLibs: true, CallStackSize: opts.CallStackSize, RegistrySize: 1024 * 20, RegistryMaxSize: 1024 * 1024 * 8, RegistryGrowStep: 64})
	v := &VM{
		L: L, opts: opts, store: opts.Store, log: opts.Logger,
		objs:      map[OID]*Object{},
		byTable:   map[*lua.LTable]*Object{},
		srcs:      map[*lua.FunctionProto]*funcInfo{},
		prims:     map[string]*lua.LFunction{},
		primNames: map[*lua.LFunction]string{},
		nextOID:   opts.Store.NextOID(),
		author:    AuthorHuman,
		ctx:       context.Background(),
		started:   opts.Clock(),
		rng:       rng,
	}
	if v.nextOID < FirstFreeOID {
		v.nextOID = FirstFreeOID
	}
	v.initFunctions()
	v.initEnv()
	v.registerPrimitives()
	return v, nil
}

// Close releases the Lua state. It does not close the store.
func (v *VM) Close() {
	if v.L != nil {
		v.L.Close()
		v.L = nil
	}
}

// Store returns the VM's store.
func (v *VM) Store() Store { return v.store }

// Lobby returns the root object.
func (v *VM) Lobby() *Object { return v.lobby }

// Env returns the global environment table of image code.
func (v *VM) Env() *lua.LTable { return v.env }

// SetTranscript redirects print and Transcript output.
func (v *VM) SetTranscript(w io.Writer) {
	if w == nil {
		w = io.Discard
	}
	v.opts.Transcript = w
}

// SetNotUnderstood installs the hook asked about messages not understood.
func (v *VM) SetNotUnderstood(h NotUnderstood) { v.opts.NotUnderstood = h }

// SetBudget changes the default evaluation budget.
func (v *VM) SetBudget(d time.Duration) {
	if d > 0 {
		v.opts.Budget = d
	}
}

// Loaded reports how many persistent objects have their contents in memory
// (loaded, or armed with their contents in the shadow) and how many are
// faults that were never loaded; it shows that opening is lazy.
func (v *VM) Loaded() (loaded, faults int) {
	for _, o := range v.objs {
		if o.faulted && !o.cached {
			faults++
		} else {
			loaded++
		}
	}
	return
}

// Object returns the object with the given OID, faulting it in.
func (v *VM) Object(oid OID) (*Object, error) {
	v.tableFor(oid)
	o := v.objs[oid]
	if err := o.ensure(); err != nil {
		return nil, err
	}
	return o, nil
}

// Global returns the Lobby slot name as an object, or nil.
func (v *VM) Global(name string) *Object {
	t, ok := v.lobby.t.RawGetString(name).(*lua.LTable)
	if !ok {
		return nil
	}
	o := v.objectOf(t)
	if o != nil {
		if err := o.ensure(); err != nil {
			return nil
		}
	}
	return o
}

func (v *VM) newOID() OID {
	id := v.nextOID
	v.nextOID++
	return id
}
