//! Example configurations printed by `egd --example --mode edge|super`. Both
//! pass `egd --check` (a test proves it) and keep the original's key names.
//! The keys below are matching sample pairs (the edge's public key is in the
//! supernode's peer list): make your own with `egd genkey` for real use.

/// A tap-based edge in super mode.
pub const EDGE: &str = r#"# egd edge node. Key names follow the original EtherGuard.
Interface:
  IType: tap                   # tap, vpp, dummy, stdio, udpsock, tcpsock, unixsock, unixgramsock, unixpacketsock, fd
  Name: egd1
  MacAddrPrefix: 6E:B8:1B:68    # the node's MAC is this prefix followed by its NodeID
  IPv4CIDR: 192.168.76.0/24     # host part from the NodeID
  IPv6CIDR: fd95:71cb:a3df:e586::/64
  IPv6LLPrefix: fe80::a3df:0/112
  MTU: 1404
NodeID: 1
NodeName: edge1
PostScript: ""
DefaultTTL: 200
L2FIBTimeout: 3600             # seconds a learned MAC stays in the FIB
PrivKey: yIU3TXXyzf8S6PjvcDlTKqu9q5AiDERBZaJjrL/mn1w=
ListenPort: 3001
DisabledAf:
  IPv4: false
  IPv6: false
LogLevel:
  LogLevel: error
  LogTransit: false
  LogNormal: true
  LogControl: true
  LogInternal: true
  LogNTP: false
DynamicRoute:
  SendPingInterval: 16
  PeerAliveTimeout: 70
  TimeoutCheckInterval: 20
  ConnNextTry: 5
  DupCheckTimeout: 40
  AdditionalCost: 10           # ms a relay through this node must save
  DampingFilterRadius: 4
  SaveNewPeers: true
  SuperNode:
    UseSuperNode: true
    PSKey: mNCsHMEUSTIifOQryMRnRe6iZTQ2ugis/5iVHJN7aXg=
    EndpointV4: 127.0.0.1:3456
    PubKeyV4: ursgF57Ji7aDZ/Uy8NU/Xj5nAsPHMEQfCSEbAQPn5nw=
    EndpointV6: ""
    PubKeyV6: BClUpB1vvl84m4fezWGmoMINE+6Q6GDXl5+B+gA4O1Y=
    EndpointEdgeAPIUrl: http://127.0.0.1:3456/eg_net/eg_api
    SkipLocalIP: false
    AdditionalLocalIP: []
    SuperNodeInfoTimeout: 50
  P2P:
    UseP2P: false
    SendPeerInterval: 20
    GraphRecalculateSetting:
      StaticMode: false
      ManualLatency: {}
      JitterTolerance: 50
      JitterToleranceMultiplier: 1.1
      TimeoutCheckInterval: 5
      RecalculateCoolDown: 5
  NTPConfig:
    UseNTP: true
    MaxServerUse: 8
    SyncTimeInterval: 3600
    NTPTimeout: 3
    Servers: []
NextHopTable: {}
ResetEndPointInterval: 600
Peers: []
# egd addition: Prometheus metrics (remove to disable)
Metrics:
  Listen: 127.0.0.1:9586
"#;

/// A supernode.
pub const SUPER: &str = r#"# egd supernode. Key names follow the original EtherGuard.
NodeName: egd-super
PostScript: ""
PrivKeyV4: sLWy0HLt5pyxTrKerVQjAOkX/r3AreULzwBcoFMbWnM=
PrivKeyV6: yD+5aKVgP3PNo21zXf5NAMIyR+pOoCCFvj9i+KWq4HY=
ListenPort: 3456
ListenPort_EdgeAPI: "3456"
ListenPort_ManageAPI: "3456"
DisabledAf:
  IPv4: false
  IPv6: false
API_Prefix: /eg_net/eg_api
RePushConfigInterval: 30
HttpPostInterval: 50
PeerAliveTimeout: 70
SendPingInterval: 15
DampingFilterRadius: 4
LogLevel:
  LogLevel: error
  LogTransit: false
  LogNormal: false
  LogControl: true
  LogInternal: true
  LogNTP: false
Passwords:                      # one secret per management action; empty disables it
  ShowState: change-me-showstate
  AddPeer: change-me-addpeer
  DelPeer: change-me-delpeer
  UpdatePeer: change-me-updatepeer
  UpdateSuper: change-me-updatesuper
GraphRecalculateSetting:
  StaticMode: false
  ManualLatency: {}
  JitterTolerance: 30
  JitterToleranceMultiplier: 1.01
  TimeoutCheckInterval: 5
  RecalculateCoolDown: 5
NextHopTable: {}
EdgeTemplate: ""
UsePSKForInterEdge: true
ResetEndPointInterval: 600
Peers:
- NodeID: 1
  Name: edge1
  PubKey: dxsvsCiue98c/nFc5xw9nA+SArmp6wZpS7emPy76gBg=
  PSKey: mNCsHMEUSTIifOQryMRnRe6iZTQ2ugis/5iVHJN7aXg=
  AdditionalCost: 10
  SkipLocalIP: false
  EndPoint: ""
"#;
