/* The embed page: builds the snippet from the form and shows a live preview. */
(function(){
var form=document.getElementById('builder');if(!form)return;
var base=form.getAttribute('data-base'),out=document.getElementById('snippet'),frame=document.getElementById('preview');
function esc(s){return s.replace(/&/g,'&amp;').replace(/"/g,'&quot;').replace(/</g,'&lt;')}
function update(){
var f=form.elements,m=f.mission.value,attrs=[],q=new URLSearchParams();
function add(k,v){attrs.push(' data-'+k+'="'+esc(v)+'"');q.set(k,v)}
if(f.posts.value&&f.posts.value!==f.posts.defaultValue)add('posts',f.posts.value);
if(f.theme.value!=='auto')add('theme',f.theme.value);
if(f.lang.value!=='en')add('lang',f.lang.value);
if(f.heading.value)add('heading',f.heading.value);
['compact','retweets','replies','media','reasons'].forEach(function(k){if(f[k].checked!==f[k].defaultChecked)add(k,f[k].checked?'true':'false')});
out.value='<div data-aggregator-mission="'+m+'"'+attrs.join('')+'></div>\n<script async src="'+base+'widget/embed.js"></'+'script>';
q.set('origin',location.origin);frame.src=m+'.html?'+q;}
window.addEventListener('message',function(e){if(e.origin===location.origin&&e.source===frame.contentWindow&&e.data&&e.data.type==='aggregator:height'){var y=+e.data.height;if(y>=40&&y<=20000)frame.style.height=y+'px'}});
form.addEventListener('input',update);form.addEventListener('change',update);update();
})();
