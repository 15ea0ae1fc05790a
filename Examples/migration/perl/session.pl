#!/usr/bin/perl
# The old site's Perl side, as a CGI script with CGI::Session: ?do=login&user=NAME logs in (a
# new session, the user, a blessed Profile), ?do=cart&item=NAME adds to the cart, ?do=show prints
# the session as Perl sees it, ?do=count adds 1 to n, ?do=logout deletes it. The session
# directory is $ENV{CGI_SESSION_DIR}; the serializer $ENV{CGI_SESSION_SERIALIZER} (default).
use strict;
use warnings;
use CGI;
use CGI::Session;

package Profile { sub new { my ($class, %fields) = @_; return bless {%fields}, $class } }

my $query = CGI->new;
my $serializer = $ENV{CGI_SESSION_SERIALIZER} || 'default';
my $session = CGI::Session->new("driver:file;serializer:$serializer", $query, { Directory => $ENV{CGI_SESSION_DIR} })
    or die CGI::Session->errstr;
my $do = $query->param('do') || 'show';
if ($do eq 'login') {
    $session->param('user', scalar $query->param('user'));
    $session->param('profile', Profile->new(name => scalar $query->param('user')));
    $session->param('cart', []) unless $session->param('cart');
} elsif ($do eq 'cart') {
    my $cart = $session->param('cart') || [];
    push @$cart, scalar $query->param('item');
    $session->param('cart', $cart);
} elsif ($do eq 'count') {
    $session->param('n', ($session->param('n') || 0) + 1);
} elsif ($do eq 'logout') {
    $session->delete;
}
print $session->header(-type => 'text/plain');
if ($do eq 'logout') { print "logged out\n"; exit }
my $profile = $session->param('profile');
print 'user: ', ($session->param('user') // ''), "\n";
print 'profile: ', (ref $profile ? ref($profile) . ' ' . $profile->{name} : ''), "\n";
print 'cart: ', join(',', @{ $session->param('cart') || [] }), "\n";
print 'visits: ', ($session->param('visits') // 0), "\n";
print 'n: ', ($session->param('n') // 0), "\n";
$session->flush;
